"""A run: one measured cell or block, as a record.

It holds what it measured and everything needed to read it later (the machine, the constants
and the carbon-intensity label it was measured under), fixed when it ends. It has no reference
to the session that made it, so printing it after ``%config`` changed the country still shows
the country it was measured in.
"""

from __future__ import annotations

import math
import numbers
import operator
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any

from .compare.names import is_derived_column
from .measure.meter import Measurement
from .measure.quality import Quality
from .measure.settings import intensity_label
from .store.schema import ADDED_FRAME_COLUMNS, RUN_COLUMNS, utc_now
from .units import energy_scale, format_duration, format_energy, format_mass, format_number

RESERVED_METRIC_NAMES = frozenset(RUN_COLUMNS + ADDED_FRAME_COLUMNS)
# Read back exactly: the ledger's inferences column comes back through float64 when a run
# has none, and 2**53 is the largest count float64 holds exactly.
MAX_INFERENCES = 2**53


def check_metric_name(name: Any) -> str:
    """A metric name as stored: non-empty, no quotes, backslashes or control characters (the
    ledger finds metrics by name inside SQL text), not a ledger or derived column."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"metric name must be a non-empty string, got {name!r}")
    name = name.strip()
    if any(c in "\"'\\" or unicodedata.category(c) == "Cc" for c in name):
        raise ValueError(
            f"metric name {name!r} may not contain quotes, backslashes or control characters"
        )
    # A metric named like a derived column would be dropped from the comparison.
    if name in RESERVED_METRIC_NAMES or is_derived_column(name):
        raise ValueError(f"metric name {name!r} is a ledger column; choose another name")
    return name


def check_metric(name: Any, value: Any) -> tuple[str, float]:
    """A metric as stored: a valid name (see :func:`check_metric_name`) and a finite number."""
    name = check_metric_name(name)
    if isinstance(value, bool) or not hasattr(value, "__float__"):
        raise TypeError(f"metric {name!r} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"metric {name!r} must be finite, got {number}")
    return name, number


def check_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise TypeError(f"tags must be a mapping of names to values, got {type(tags).__name__}")
    return {str(key): str(value) for key, value in tags.items()}


def check_inferences(inferences: Any) -> int | None:
    if inferences is None:
        return None
    if isinstance(inferences, bool) or not isinstance(inferences, int):
        try:
            inferences = int(inferences)
        except (TypeError, ValueError):
            raise ValueError(f"inferences must be a count >= 0, got {inferences!r}") from None
    if not 0 <= inferences <= MAX_INFERENCES:
        shown = str(inferences) if abs(inferences) < 10**40 else f"{str(inferences)[:40]}…"
        raise ValueError(f"inferences must be a count from 0 to 2**53, got {shown}")
    return inferences


def check_size(size: Any) -> int:
    """A model size as stored: a whole number from 0 to 2**53 (numpy integers too)."""
    number = None
    if isinstance(size, float) and size.is_integer():
        number = int(size)
    elif not isinstance(size, bool):
        try:
            number = operator.index(size)  # int, numpy integers; not numpy's bool
        except TypeError:
            pass
    if number is not None and 0 <= number <= MAX_INFERENCES:
        return number
    if isinstance(size, numbers.Number):
        shown = repr(size) if len(repr(size)) <= 40 else f"{repr(size)[:40]}…"
    else:  # a model, say: its repr can run over many lines
        shown = f"a {type(size).__name__} (size a model with mlcost_magic.model_size(model))"
    raise ValueError(f"model size must be a whole number from 0 to 2**53, got {shown}")


class Run:
    """One measured block: label, tags, metrics, status and, once ended, its measurement.

    ``run.energy_kwh``, ``run.emissions_kg``, ``run.duration_s``... read the measurement.
    Metrics are logged while the run is in progress; once it has ended the record is fixed.
    """

    def __init__(
        self,
        label: str,
        *,
        session_id: str,
        machine: Mapping[str, Any],
        tags: dict[str, str] | None = None,
        kind: str = "training",
        inferences: int | None = None,
        group_id: str | None = None,
        repeat: int | None = None,
        parent_run_id: str | None = None,
        threads: int | None = None,
        share_target: str | None = None,
        mlflow_parent: str | None = None,
    ):
        self.run_id = uuid.uuid4().hex
        self.share_target = share_target  # the MLflow target it is to be logged to, if any
        self.mlflow_parent = mlflow_parent  # 'experiment_id/run_id' of the user's MLflow run
        self.group_id, self.repeat, self.parent_run_id = group_id, repeat, parent_run_id
        self.threads = threads
        self.model_size: int | None = None  # run.log_size(n), %%carbon --size EXPR
        self.quality: Quality | None = None
        self.session_id = session_id
        self.label = label
        self.tags = dict(tags or {})
        self.kind = kind
        self.inferences = inferences
        self.machine = dict(machine)  # hostname, cpu_model, cpu_count, gpu_model
        self.metrics: dict[str, float] = {}
        self.status = "running"
        self.error: str | None = None
        self.started_at = utc_now()
        self.ended_at: str | None = None
        self.measurement: Measurement | None = None
        self.result: Any = None  # what track_inference predicted

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def log_metric(self, name: str, value: float) -> None:
        if self.ended:
            raise RuntimeError(
                f"run {self.label!r} has ended and is recorded: log metrics inside the block "
                "(or with --metric on the %%carbon line)"
            )
        name, number = check_metric(name, value)
        self.metrics[name] = number

    def log_size(self, size: int) -> None:
        """Record the model's size (``mlcost_magic.model_size(model)``: numbers it stores)."""
        if self.ended:
            raise RuntimeError(
                f"run {self.label!r} has ended and is recorded: log its size inside the block "
                "(or with --size on the %%carbon line)"
            )
        self.model_size = check_size(size)

    def end(
        self,
        status: str,
        error: str | None,
        measurement: Measurement | None,
        quality: Quality | None = None,
    ) -> None:
        """Fix the record: called once, by the tracking that owns this run."""
        self.status, self.error, self.measurement = status, error, measurement
        self.quality = quality
        self.ended_at = utc_now()

    def mark_noisy(self, reason: str) -> bool:
        """The group verdict on an ended run; kept only over 'ok' and 'estimate'."""
        if self.quality is not None and self.quality.word not in ("ok", "estimate"):
            return False
        self.quality = Quality("noisy", reason)
        return True

    def __getattr__(self, name: str):
        measurement = self.__dict__.get("measurement")
        if measurement is not None and hasattr(measurement, name):
            return getattr(measurement, name)
        raise AttributeError(name)

    def summary(self) -> str:
        """One line: label · duration · energy (CPU, RAM, GPU) · CO2 at intensity · basis."""
        m = self.measurement
        head = self.label if self.status in ("ok", "running") else f"{self.label} · {self.status}"
        if self.status == "capped" and self.error:
            head += f" ({self.error})"
        if m is None:
            return f"{head} · not measured"
        factor, _unit = energy_scale(m.energy_kwh)
        parts = ", ".join(
            f"{name} {format_number(kwh * m.pue / factor)}"
            for name, kwh in (
                ("CPU", m.cpu_energy_kwh),
                ("RAM", m.ram_energy_kwh),
                ("GPU", m.gpu_energy_kwh),
                *((("static", m.static_energy_kwh),) if m.static_power_w else ()),
            )
        )
        where = intensity_label(m.country_iso_code, m.intensity_source)
        pieces = [
            head,
            format_duration(m.duration_s),
            f"{format_energy(m.energy_kwh)} ({parts})",
            f"{format_mass(m.emissions_kg)} CO2e at {format_number(m.carbon_intensity_g_per_kwh)}"
            f" g/kWh ({where})",
        ]
        if self.inferences:
            pieces.append(f"{self.inferences:,} inferences")
        if self.model_size is not None:
            pieces.append(f"size {self.model_size:,}")
        pieces += [f"{name} {format_number(value)}" for name, value in self.metrics.items()]
        pieces.append(m.basis)
        if self.quality is not None and self.quality.note:
            pieces.append(self.quality.note)
        return " · ".join(pieces)

    def __repr__(self) -> str:
        return f"<Run {self.summary()}>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.summary())

    def to_row(self) -> dict[str, Any]:
        """The ledger row of this run (columns of ``store.schema.RUN_COLUMNS``)."""
        row: dict[str, Any] = {
            "run_id": self.run_id,
            "session_id": self.session_id,
            "label": self.label,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            **self.machine,
            "inferences": self.inferences,
            "threads": self.threads,
            "model_size": self.model_size,
            "group_id": self.group_id,
            "repeat": self.repeat,
            "parent_run_id": self.parent_run_id,
            "share_target": self.share_target,
            "mlflow_parent": self.mlflow_parent,
            "quality": self.quality.word if self.quality else None,
            "quality_reason": self.quality.reason if self.quality else None,
            "tags": self.tags,
            "error": self.error,
            "metrics": self.metrics,
        }
        if self.measurement is not None:
            row.update(self.measurement.__dict__)
        return row
