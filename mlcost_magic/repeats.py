"""Repeated measurement: the same body K + N times, N of them recorded as one group.

    %%carbon "KNN" --repeat 10 --warmup 1 --metric accuracy=acc
    group = mlcost_magic.repeat("KNN", 10, fit_and_score, warmup=1)

The N runs share a ``group_id`` and carry ``repeat`` 1..N. An error or Ctrl-C in repeat i
stops the loop: that run is recorded as such, the earlier ones stand, the exception propagates.
When the group ends, a group whose energy varies by more than 10 % (coefficient of variation)
has its runs marked ``noisy`` (unless already ``short`` or ``busy machine``). The result is a
:class:`RunGroup`: its runs and, for duration, energy and CO2, the mean, sd and 95 % interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .compare.aggregate import Spread, noise, spread
from .errors import MeasurementWarning, warn
from .measure.settings import intensity_label
from .run import Run
from .tracking import DeferredMetric, DeferredSize
from .units import format_duration, format_energy, format_mass, format_number

if TYPE_CHECKING:
    from .session import Session

SPREAD_FIELDS = ("duration_s", "energy_kwh", "emissions_kg")
MAX_REPEATS = 100_000


class RunGroup:
    """The runs of one repeated measurement and their spread (``group.energy_kwh.mean``...)."""

    def __init__(self, label: str, group_id: str, runs: list[Run], warmup: int):
        self.label, self.group_id, self.runs, self.warmup = label, group_id, runs, warmup
        # The repeats the spread is taken over: ended normally, with a measurement.
        self.measured = [r for r in runs if r.measurement is not None and r.status == "ok"]
        for field in SPREAD_FIELDS:
            setattr(self, field, spread(getattr(r.measurement, field) for r in self.measured))
        self.metrics: dict[str, Spread] = {
            name: spread(r.metrics.get(name) for r in self.measured)
            for name in dict.fromkeys(n for r in self.measured for n in r.metrics)
        }

    duration_s: Spread
    energy_kwh: Spread
    emissions_kg: Spread

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def status(self) -> str:
        """'ok' when every repeat ended normally, else the status of the one that did not."""
        return next((r.status for r in self.runs if r.status != "ok"), "ok")

    def summary(self) -> str:
        """One line: label · n · mean ± sd [95 % CI] of duration, energy, CO2 · metrics."""
        head = self.label if self.status == "ok" else f"{self.label} · {self.status}"
        ok = self.measured
        if not ok:
            return f"{head} · {self.n} repeats · not measured"
        m = ok[-1].measurement
        where = intensity_label(m.country_iso_code, m.intensity_source)
        pieces = [
            head,
            f"{len(ok)} repeats" + (f" (+{self.warmup} warm-up)" if self.warmup else ""),
            _spread_text(self.duration_s, format_duration),
            _spread_text(self.energy_kwh, format_energy),
            _spread_text(self.emissions_kg, format_mass)
            + f" CO2e at {format_number(m.carbon_intensity_g_per_kwh)} g/kWh ({where})",
        ]
        pieces += [f"{name} {format_number(s.mean)}" for name, s in self.metrics.items()]
        pieces.append(m.basis)
        notes = dict.fromkeys(r.quality.note for r in ok if r.quality and r.quality.note)
        pieces += [note for note in notes if note]
        return " · ".join(pieces)

    def __repr__(self) -> str:
        return f"<RunGroup {self.summary()}>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.summary())


def _spread_text(s: Spread, fmt: Callable[[float], str]) -> str:
    if s.n < 2:
        return fmt(s.mean)
    low, high = s.ci95
    return f"{fmt(s.mean)} ± {fmt(s.sd)} (95 % CI {fmt(low)} to {fmt(high)})"


def check_repeats(repeat: Any, warmup: Any) -> tuple[int, int]:
    for name, value, low in (("repeat", repeat, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value:
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
        if value > MAX_REPEATS:
            raise ValueError(f"{name} must be at most {MAX_REPEATS:,}, got {value:,}")
    return repeat, warmup


def run_repeats(
    session: Session,
    label: str,
    repeat: int,
    body: Callable[[], Any],
    *,
    warmup: int = 0,
    tags: Mapping[str, Any] | None = None,
    kind: str = "training",
    inferences: int | None = None,
    deferred_metrics: tuple[DeferredMetric, ...] = (),
    deferred_size: DeferredSize | None = None,
    quiet: bool = False,
    on_result: Callable[[Any], None] | None = None,
    threads: int | None = None,
    limits=None,
) -> RunGroup:
    """Run ``body`` warmup + repeat times, the last ``repeat`` tracked as one group; print one
    summary line unless quiet. ``on_result`` receives each tracked call's return value."""
    __tracebackhide__ = True  # noqa: F841 (the user's error shows the user's frames)
    repeat, warmup = check_repeats(repeat, warmup)
    group_id = uuid.uuid4().hex
    runs: list[Run] = []
    for _ in range(warmup):
        body()
    try:
        for number in range(1, repeat + 1):
            tracking = session.track(
                label,
                tags,
                quiet=True,
                kind=kind,
                inferences=inferences,
                deferred_metrics=deferred_metrics,
                deferred_size=deferred_size,
                group_id=group_id,
                repeat=number,
                threads=threads,
                limits=limits,
            )
            runs.append(tracking.run)
            with tracking:
                try:
                    value = body()
                finally:
                    tracking.disarm()  # no cap may arrive once the body is done
            if on_result is not None:
                on_result(value)
    finally:
        group = RunGroup(label, group_id, runs, warmup)
        _mark_noise(session, group)
        if not quiet:
            print(group.summary() + session.budget_suffix())
    return group


def _mark_noise(session: Session, group: RunGroup) -> None:
    """Mark the group's runs 'noisy' when their energy varies by more than 10 %."""
    cv = noise(group.energy_kwh)
    if cv is None:
        return
    reason = f"energy varies {100 * cv:.0f} % (sd/mean) across {group.energy_kwh.n} repeats"
    marked = [r for r in group.measured if r.mark_noisy(reason)]
    try:
        session.ledger.set_quality([r.run_id for r in marked], "noisy", reason)
    except Exception as error:
        warn(f"could not record the group's quality: {error}", MeasurementWarning)
