"""Sessions and runs: measure a block of code, record it in the ledger, tell the listeners.

A Session is one kernel (or one Python process using `track`): it owns the meter, the ledger and
the listeners (the panel). `%load_ext mlcost_magic` makes its session the process's active one,
so `mlcost_magic.track()` and `log_metric()` in a notebook land in the same ledger session.
"""

from __future__ import annotations

import math
import os
import threading
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from . import __version__
from .codecarbon_data import codecarbon_version
from .counters import rapl_unreadable
from .hardware import detect_hardware
from .ledger import RUN_COLUMNS, Ledger, utc_now
from .meter import Constants, Measurement, Meter, Snapshot
from .settings import (
    Settings,
    resolve_cpu_power_override,
    resolve_intensity,
    resolve_ledger_path,
    resolve_pue,
    resolve_ram_power,
)
from .units import energy_scale, format_duration, format_energy, format_mass, format_number


class MeasurementWarning(UserWarning):
    """Our own measurement failed; the user's code ran (or failed) exactly as it would have."""


RESERVED_METRIC_NAMES = frozenset(RUN_COLUMNS)


def check_metric(name: Any, value: Any) -> tuple[str, float]:
    """A metric as stored: a non-empty name that is not a ledger column, and a real number."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"metric name must be a non-empty string, got {name!r}")
    name = name.strip()
    if '"' in name or "\\" in name:
        raise ValueError(f"metric name {name!r} may not contain quotes or backslashes")
    if name in RESERVED_METRIC_NAMES:
        raise ValueError(f"metric name {name!r} is a ledger column; choose another name")
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


class Run:
    """One measured block: label, tags, metrics, status and, once ended, its measurement."""

    def __init__(
        self, session: Session, label: str, tags: dict[str, str], kind: str, inferences: int | None
    ):
        self.session = session
        self.run_id = uuid.uuid4().hex
        self.label = label
        self.tags = tags
        self.kind = kind
        self.inferences = inferences
        self.metrics: dict[str, float] = {}
        self.status = "running"
        self.error: str | None = None
        self.started_at = utc_now()
        self.ended_at: str | None = None
        self.measurement: Measurement | None = None
        self.result: Any = None  # what track_inference predicted
        self._start: Snapshot | None = None

    def log_metric(self, name: str, value: float) -> None:
        name, number = check_metric(name, value)
        self.metrics[name] = number

    def __getattr__(self, name: str):
        """run.energy_kwh, run.emissions_kg, run.duration_s... from the measurement."""
        measurement = self.__dict__.get("measurement")
        if measurement is not None and hasattr(measurement, name):
            return getattr(measurement, name)
        raise AttributeError(name)

    def summary(self) -> str:
        """One line: label · duration · energy (CPU, RAM, GPU) · CO2 at intensity · basis."""
        m = self.measurement
        head = self.label if self.status in ("ok", "running") else f"{self.label} · {self.status}"
        if m is None:
            return f"{head} · not measured"
        factor, _unit = energy_scale(m.energy_kwh)
        parts = ", ".join(
            f"{name} {format_number(kwh * m.pue / factor)}"
            for name, kwh in (
                ("CPU", m.cpu_energy_kwh),
                ("RAM", m.ram_energy_kwh),
                ("GPU", m.gpu_energy_kwh),
            )
        )
        intensity = self.session.meter.constants.intensity
        pieces = [
            head,
            format_duration(m.duration_s),
            f"{format_energy(m.energy_kwh)} ({parts})",
            f"{format_mass(m.emissions_kg)} CO2e at {format_number(m.carbon_intensity_g_per_kwh)}"
            f" g/kWh ({intensity.label})",
        ]
        if self.inferences:
            pieces.append(f"{self.inferences:,} inferences")
        pieces += [f"{name} {format_number(value)}" for name, value in self.metrics.items()]
        pieces.append(m.basis)
        return " · ".join(pieces)

    def __repr__(self) -> str:
        return f"<Run {self.summary()}>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.summary())

    def to_row(self) -> dict[str, Any]:
        hw = self.session.hardware
        row: dict[str, Any] = {
            "run_id": self.run_id,
            "session_id": self.session.session_id,
            "label": self.label,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "hostname": hw.hostname,
            "cpu_model": hw.cpu_model,
            "cpu_count": hw.cpu_count,
            "gpu_model": hw.gpu_model,
            "inferences": self.inferences,
            "tags": self.tags,
            "error": self.error,
            "metrics": self.metrics,
        }
        if self.measurement is not None:
            row.update(self.measurement.__dict__)
        return row


class Tracking:
    """Context manager around one run: the user's exception always passes through untouched."""

    def __init__(
        self, session: Session, run: Run, quiet: bool, after: Callable[[Run], None] | None = None
    ):
        self.session, self.run, self.quiet, self.after = session, run, quiet, after
        self._live = None

    def __enter__(self) -> Run:
        session, run = self.session, self.run
        session._active.append(run)
        try:
            session.ledger.start_run(run.to_row())
        except Exception as error:
            _warn(f"could not record the start of run {run.label!r}: {error}")
        if not self.quiet and session.live_meter_enabled:
            try:
                from .live import LiveMeter

                self._live = LiveMeter(lambda: session.live_text(run))
            except Exception as error:
                _warn(f"live meter unavailable: {error}")
        try:
            run._start = session.meter.snapshot()
        except Exception as error:
            _warn(f"could not start measuring {run.label!r}: {error}")
        return run

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            status, error = "ok", None
        elif issubclass(exc_type, KeyboardInterrupt):
            status, error = "interrupted", "KeyboardInterrupt"
        else:
            status, error = "error", f"{exc_type.__name__}: {exc}"[:2000]
        self.session._finish(self.run, status, error, self.after, self._live, self.quiet)
        return False  # never swallow the user's exception


class Session:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.session_id = uuid.uuid4().hex[:16]
        self.hardware = detect_hardware(resolve_cpu_power_override(self.settings))
        self.meter = Meter(self.hardware, self._constants(self.settings))
        self.ledger = Ledger(resolve_ledger_path(self.settings), create=True)
        self.ledger.open_session(self._session_row())
        self.live_meter_enabled = False
        self._active: list[Run] = []
        self._listeners: list[Callable[[Run], None]] = []
        self.runs_recorded = 0

    @staticmethod
    def _constants(settings: Settings) -> Constants:
        return Constants(
            intensity=resolve_intensity(settings),
            pue=resolve_pue(settings),
            ram_power_w_per_gb=resolve_ram_power(settings),
        )

    def _session_row(self) -> dict[str, Any]:
        import psutil

        return {
            "session_id": self.session_id,
            "started_at": utc_now(),
            "hostname": self.hardware.hostname,
            "pid": os.getpid(),
            "pid_started_at": psutil.Process().create_time(),
            "cwd": os.getcwd(),
            "mlcost_version": __version__,
            "codecarbon_version": codecarbon_version(),
        }

    def configure(self, settings: Settings) -> None:
        """Apply new settings to the runs that start from now on (raises SettingsError)."""
        constants = self._constants(settings)
        override = resolve_cpu_power_override(settings)
        if override != resolve_cpu_power_override(self.settings):
            from .hardware import cpu_power_for

            hw = self.hardware
            hw.cpu_power = cpu_power_for(hw.cpu_model, hw.cpu_count, hw.cpu_sockets, override)
        new_path = resolve_ledger_path(settings)
        if new_path != self.ledger.path:
            ledger = Ledger(new_path, create=True)
            ledger.open_session(self._session_row())
            self.ledger.close()
            self.ledger = ledger
        self.meter.constants = constants
        self.settings = settings

    # -- runs -----------------------------------------------------------------------------
    def track(
        self,
        label: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        quiet: bool = False,
        kind: str = "training",
        inferences: int | None = None,
        after: Callable[[Run], None] | None = None,
    ) -> Tracking:
        """Measure a with-block as one run: `with session.track("Small RF") as run: ...`."""
        if label is None:
            label = f"run {self.runs_recorded + len(self._active) + 1}"
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"label must be a non-empty string, got {label!r}")
        if kind not in ("training", "inference"):
            raise ValueError(f"kind must be 'training' or 'inference', got {kind!r}")
        if inferences is not None and (isinstance(inferences, bool) or int(inferences) < 0):
            raise ValueError(f"inferences must be a count >= 0, got {inferences!r}")
        run = Run(
            self,
            label.strip(),
            check_tags(tags),
            kind,
            None if inferences is None else int(inferences),
        )
        return Tracking(self, run, quiet, after)

    def _finish(self, run: Run, status: str, error: str | None, after, live, quiet) -> None:
        """Stop, record, announce, notify: every step guarded so the user's outcome stands."""
        try:
            end = self.meter.snapshot()
            if run._start is not None:
                run.measurement = self.meter.measure(run._start, end)
        except Exception as failure:
            _warn(f"could not measure {run.label!r}: {failure}")
        run.status, run.error = status, error
        run.ended_at = utc_now()
        if run in self._active:
            self._active.remove(run)
        if after is not None:
            try:
                after(run)
            except Exception as failure:
                _warn(f"{failure}")
        try:
            self.ledger.finish_run(run.to_row())
        except Exception as failure:
            _warn(f"could not record run {run.label!r}: {failure}")
        self.runs_recorded += 1
        summary = None if quiet else run.summary()
        if live is not None:
            live.finish(summary)
        elif summary is not None:
            print(summary)
        for listener in list(self._listeners):
            try:
                listener(run)
            except Exception as failure:
                _warn(f"a listener failed after run {run.label!r}: {failure}")

    @property
    def active_run(self) -> Run | None:
        return self._active[-1] if self._active else None

    def live_text(self, run: Run) -> str:
        """'Label · running 12.3 s · 45 mWh so far' for the live meter."""
        if run._start is None:
            return f"{run.label} · running"
        m = self.meter.measure(run._start)
        return (
            f"⏱ {run.label} · running {format_duration(m.duration_s)} · "
            f"{format_energy(m.energy_kwh)} · {format_mass(m.emissions_kg)} CO2e so far"
        )

    # -- listeners ----------------------------------------------------------------------
    def add_listener(self, listener: Callable[[Run], None]) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Run], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- reading ------------------------------------------------------------------------
    def to_frame(self, all_sessions: bool = False):
        return self.ledger.to_frame(None if all_sessions else self.session_id)

    def describe(self) -> dict[str, Any]:
        c, hw = self.meter.constants, self.hardware
        return {
            "method": self.meter.method,
            "cpu_power_source": hw.cpu_power.source,
            "country_iso_code": c.intensity.country_iso_code,
            "country_name": c.intensity.country_name,
            "carbon_intensity_g_per_kwh": c.intensity.g_per_kwh,
            "intensity_source": c.intensity.source,
            "pue": c.pue,
            "cpu_power_w_per_thread": hw.cpu_power.w_per_thread,
            "ram_power_w_per_gb": c.ram_power_w_per_gb,
            "cpu_model": hw.cpu_model,
            "cpu_count": hw.cpu_count,
            "gpu_model": hw.gpu_model,
            "hostname": hw.hostname,
            "ledger_path": str(self.ledger.path),
            "ledger_in_memory": self.ledger.in_memory,
            "session_id": self.session_id,
        }

    def status_text(self) -> str:
        d = self.describe()
        cpu = (
            "RAPL package energy x this process tree's share of busy CPU time"
            if self.hardware.rapl_domains
            else f"estimate: {d['cpu_power_w_per_thread']:g} W per busy thread x CPU-seconds of "
            f"this process tree ({d['cpu_power_source']})"
        )
        if not self.hardware.rapl_domains and rapl_unreadable():
            cpu += "; RAPL counters exist but are root-only here, so they are not used"
        gpu = (
            f"NVML energy counters of {d['gpu_model']} (whole GPUs)"
            if d["gpu_model"]
            else "no NVIDIA GPU visible: 0"
        )
        ledger = d["ledger_path"] + (
            " (NOT WRITABLE: runs kept in memory only)" if d["ledger_in_memory"] else ""
        )
        intensity = f"{d['carbon_intensity_g_per_kwh']:g} g CO2e/kWh"
        where = d["country_name"] or "world average"
        return "\n".join(
            [
                f"mlcost-magic {__version__} (CodeCarbon {codecarbon_version()}), "
                f"method {d['method']}",
                f"  CPU:     {cpu}",
                f"  RAM:     estimate: {d['ram_power_w_per_gb']:g} W/GB x resident GB of this "
                "process tree (Green Algorithms)",
                f"  GPU:     {gpu}",
                f"  PUE:     {d['pue']:g}",
                f"  Carbon:  {intensity}, {where} ({d['intensity_source']})",
                f"  Machine: {d['hostname']}, {d['cpu_model']}, {d['cpu_count']} threads",
                f"  Ledger:  {ledger}",
                f"  Session: {d['session_id']}",
            ]
        )

    def close(self) -> None:
        self._listeners.clear()
        self.ledger.close()


def _warn(message: str) -> None:
    warnings.warn(f"mlcost-magic: {message}", MeasurementWarning, stacklevel=3)


# -- the process's active session (the kernel's, or a default one for scripts) -------------
_active_session: Session | None = None
_active_lock = threading.Lock()


def current_session() -> Session:
    """The session `track()` records into: the loaded extension's, else one for this process."""
    global _active_session
    with _active_lock:
        if _active_session is None:
            session = Session()
            from .live import kernel_frontend_available

            session.live_meter_enabled = kernel_frontend_available()
            _active_session = session
        return _active_session


def activate(session: Session | None) -> None:
    global _active_session
    with _active_lock:
        _active_session = session


def track(
    label: str | None = None, tags: Mapping[str, Any] | None = None, *, quiet: bool = False
) -> Tracking:
    """Measure a block: `with mlcost_magic.track("Small RF") as run: ...; run.log_metric(...)`."""
    return current_session().track(label, tags, quiet=quiet)


def log_metric(name: str, value: float) -> None:
    """Attach a metric to the run in progress (the innermost tracked cell or block)."""
    session = _active_session
    run = session.active_run if session is not None else None
    if run is None:
        raise RuntimeError(
            "log_metric() needs a run in progress: call it inside a %%carbon cell or a "
            "`with mlcost_magic.track(...)` block"
        )
    run.log_metric(name, value)


def track_inference(
    model: Any,
    X: Any,
    label: str | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    quiet: bool = False,
) -> Run:
    """Run model.predict(X) as an inference run; the predictions are in run.result."""
    if not hasattr(model, "predict"):
        raise TypeError(f"model must have a predict() method, got {type(model).__name__}")
    count = X.shape[0] if hasattr(X, "shape") else len(X)
    label = label or f"{type(model).__name__} inference"
    with current_session().track(
        label, tags, quiet=quiet, kind="inference", inferences=count
    ) as run:
        run.result = model.predict(X)
    return run
