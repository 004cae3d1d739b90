"""The one owner of a run's life: start, measure, end, record, announce, notify.

    with session.track("Small RF") as run:   # the row is written as 'running', counters read
        ...                                  # the user's code; run.log_metric(...)
    # counters read again -> Measurement (under the constants the run started with);
    # deferred metrics (--metric) and size (--size) evaluated; the record fixed; the row
    # completed in the ledger; the summary printed (or the live meter turned into it);
    # listeners told.

Every step after the user's code is guarded: the user's exception (KeyboardInterrupt
included) passes through untouched and the run is still recorded; a failure of ours only warns.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .caps import CapReached, Limits, Watchdog
from .errors import MeasurementWarning, MetricWarning, warn
from .measure.meter import Constants, Snapshot
from .measure.model_size import model_size
from .measure.quality import judge
from .run import Run
from .units import format_duration, format_energy, format_mass

if TYPE_CHECKING:
    from .session import Session


@dataclass(frozen=True)
class DeferredMetric:
    """A metric computed after the run's measurement stops (``%%carbon --metric NAME=EXPR``)."""

    name: str
    source: str  # what the user wrote, for the warning when it fails
    compute: Callable[[], Any]


@dataclass(frozen=True)
class DeferredSize:
    """A model size computed after the measurement stops (``%%carbon --size EXPR``): a count,
    or a fitted model that :func:`measure.model_size.model_size` sizes."""

    source: str
    compute: Callable[[], Any]


class Tracking:
    """Context manager around one run; see the module docstring for its steps."""

    def __init__(
        self,
        session: Session,
        run: Run,
        *,
        quiet: bool = False,
        deferred_metrics: tuple[DeferredMetric, ...] = (),
        deferred_size: DeferredSize | None = None,
        limits: Limits | None = None,
    ):
        self.session, self.run, self.quiet = session, run, quiet
        self.limits = limits if limits is not None and limits.any else None
        self._watchdog: Watchdog | None = None
        self.deferred_metrics, self.deferred_size = deferred_metrics, deferred_size
        self._constants: Constants = session.meter.constants  # fixed for the whole run
        self._start: Snapshot | None = None
        self._live = None

    # -- start ------------------------------------------------------------------------------
    def __enter__(self) -> Run:
        session, run = self.session, self.run
        session.run_started(run)
        try:
            session.ledger.start_run(run.to_row())
        except Exception as error:
            warn(f"could not record the start of run {run.label!r}: {error}", MeasurementWarning)
        if not self.quiet and session.live_meter_enabled:
            try:
                from .views.live import LiveMeter

                self._live = LiveMeter(self._live_text)
            except Exception as error:
                warn(f"live meter unavailable: {error}", MeasurementWarning)
        try:
            self._start = session.meter.snapshot()
        except Exception as error:
            warn(f"could not start measuring {run.label!r}: {error}", MeasurementWarning)
        if self.limits is not None and self._start is not None:
            self._watchdog = Watchdog(self.limits, self._measure_now)
        return run

    def _measure_now(self):
        return self.session.meter.measure(self._start, constants=self._constants)

    def disarm(self) -> None:
        """Stop the caps' watchdog; after this no CapReached can arrive. Call it in a
        ``finally`` right around the body (see caps.py), and it is called again on exit."""
        if self._watchdog is not None:
            self._watchdog.stop()

    def _live_text(self) -> str:
        """'Label · running 12.3 s · 45 mWh so far' for the live meter (its thread calls it)."""
        if self._start is None:
            return f"{self.run.label} · running"
        m = self.session.meter.measure(self._start, constants=self._constants)
        return (
            f"⏱ {self.run.label} · running {format_duration(m.duration_s)} · "
            f"{format_energy(m.energy_kwh)} · {format_mass(m.emissions_kg)} CO2e so far"
        )

    # -- end --------------------------------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> bool:
        self.disarm()
        session, run = self.session, self.run
        measurement = None
        try:
            end = session.meter.snapshot()
            if self._start is not None:
                measurement = session.meter.measure(self._start, end, self._constants)
        except Exception as failure:
            warn(f"could not measure {run.label!r}: {failure}", MeasurementWarning)
        status, error = _outcome(exc_type, exc)
        if status == "interrupted" and issubclass(exc_type, CapReached) and self._watchdog:
            status, error = "capped", self._watchdog.reason
        if status == "ok":
            for metric in self.deferred_metrics:
                self._evaluate(metric)
            if self.deferred_size is not None:
                self._evaluate_size(self.deferred_size)
        run.end(status, error, measurement, judge(measurement) if measurement else None)
        session.run_ended(run)
        try:
            session.ledger.finish_run(run.to_row())
        except Exception as failure:
            warn(f"could not record run {run.label!r}: {failure}", MeasurementWarning)
        self._announce()
        session.notify(run)
        return False  # never swallow the user's exception

    def _evaluate(self, metric: DeferredMetric) -> None:
        try:
            value = metric.compute()
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise ValueError(f"{value!r} is not a finite number")
            self.run.log_metric(metric.name, float(value))
        except Exception as error:
            warn(
                f"--metric {metric.name}={metric.source} failed ({type(error).__name__}: "
                f"{error}); run {self.run.label!r} recorded without it",
                MetricWarning,
                stacklevel=4,
            )

    def _evaluate_size(self, size: DeferredSize) -> None:
        try:
            value = size.compute()
            if not isinstance(value, numbers.Number):  # a model: count what it stores
                value = model_size(value)
            self.run.log_size(value)
        except Exception as error:
            warn(
                f"--size {size.source} failed ({type(error).__name__}: {error}); run "
                f"{self.run.label!r} recorded without it",
                MetricWarning,
                stacklevel=4,
            )

    def _announce(self) -> None:
        summary = None if self.quiet else self.run.summary() + self.session.budget_suffix()
        try:
            if self._live is not None:
                self._live.finish(summary)
            elif summary is not None:
                print(summary)
        except Exception as failure:
            warn(f"could not show the summary of {self.run.label!r}: {failure}")


def _outcome(exc_type, exc) -> tuple[str, str | None]:
    if exc_type is None:
        return "ok", None
    if issubclass(exc_type, KeyboardInterrupt):
        return "interrupted", "KeyboardInterrupt"
    return "error", f"{exc_type.__name__}: {exc}"[:2000]
