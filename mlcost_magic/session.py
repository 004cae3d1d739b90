"""Sessions: one kernel (or one Python process using ``track``) and what its runs share.

A Session owns the settings, the hardware profile, the meter, the ledger and the listeners (the
panel). It makes runs (``track``) but does not run them: ``tracking.Tracking`` owns each run's
life. ``%load_ext mlcost_magic`` makes its session the process's active one, so
``mlcost_magic.track()`` and ``log_metric()`` in a notebook land in the same ledger session.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ._version import __version__
from .errors import MeasurementWarning, SettingsError, ShareWarning, warn
from .measure.codecarbon_data import codecarbon_version
from .measure.counters import rapl_unreadable
from .measure.hardware import cpu_power_for, detect_hardware, login_name
from .measure.meter import Constants, Meter
from .measure.settings import (
    Settings,
    resolve_cpu_power_override,
    resolve_intensity,
    resolve_pue,
    resolve_ram_power,
    resolve_static_power,
)
from .run import Run, check_inferences, check_tags
from .share.target import resolve_target
from .store.ledger import Ledger, resolve_ledger_path
from .store.schema import utc_now
from .tracking import DeferredMetric, DeferredSize, Tracking

RUN_KINDS = ("training", "inference", "cell")


class Session:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.session_id = uuid.uuid4().hex[:16]
        self.hardware = detect_hardware(resolve_cpu_power_override(self.settings))
        self.meter = Meter(self.hardware, self._constants(self.settings))
        self.started_at = utc_now()
        self.ledger = self._open_ledger(self.settings)
        self.sharing = None  # share.sharing.Sharing while runs go to MLflow too
        try:
            target = resolve_target(
                self.settings.mlflow_tracking_uri, self.settings.mlflow_experiment
            )
        except SettingsError as error:  # from $MLCOST_MLFLOW_TRACKING_URI: stay local, say so
            warn(f"runs are not shared: {error}", ShareWarning)
            target = None
        self._share(target)
        self.live_meter_enabled = False
        self._active: list[Run] = []
        self._listeners: list[Callable[[Run], None]] = []
        self.runs_recorded = 0
        self.budget = None  # budget.Budget, set by %carbon budget
        # This session's footprint: ended runs that did not run inside another (no double count).
        self.used = {"runs": 0, "cells": 0, "energy_kwh": 0.0, "emissions_kg": 0.0}

    @staticmethod
    def _constants(settings: Settings) -> Constants:
        return Constants(
            intensity=resolve_intensity(settings),
            pue=resolve_pue(settings),
            ram_power_w_per_gb=resolve_ram_power(settings),
            static_power_w=resolve_static_power(settings),
        )

    def _open_ledger(self, settings: Settings) -> Ledger:
        """Open (or create) the ledger, register this session, mark dead sessions' runs lost."""
        ledger = Ledger(resolve_ledger_path(settings.ledger_path), create=True)
        ledger.open_session(self._session_row())
        try:
            ledger.mark_lost_runs()
        except Exception as error:  # a read-only or busy ledger: the runs stay 'running'
            warn(f"could not check the ledger for lost runs: {error}", MeasurementWarning)
        return ledger

    def _session_row(self) -> dict[str, Any]:
        import psutil

        return {
            "session_id": self.session_id,
            "started_at": self.started_at,
            "hostname": self.hardware.hostname,
            "user": login_name(),
            "pid": os.getpid(),
            "pid_started_at": psutil.Process().create_time(),
            "cwd": os.getcwd(),
            "mlcost_version": __version__,
            "codecarbon_version": codecarbon_version(),
        }

    def configure(self, settings: Settings) -> None:
        """Apply new settings to the runs that start from now on (raises SettingsError)."""
        constants = self._constants(settings)
        target = resolve_target(settings.mlflow_tracking_uri, settings.mlflow_experiment)
        override = resolve_cpu_power_override(settings)
        if override != resolve_cpu_power_override(self.settings):
            hw = self.hardware
            hw.cpu_power = cpu_power_for(hw.cpu_model, hw.cpu_count, hw.cpu_sockets, override)
        new_ledger = resolve_ledger_path(settings.ledger_path) != self.ledger.path
        if new_ledger:
            ledger = self._open_ledger(settings)
            self.ledger.close()
            self.ledger = ledger
        current = self.sharing.target if self.sharing is not None else None
        if new_ledger or target != current:
            self._share(target)
        self.meter.constants = constants
        self.settings = settings

    def _share(self, target) -> None:
        """Log runs to this MLflow target from now on (None: stop)."""
        if self.sharing is not None:
            self.sharing.close()
            self.sharing = None
        if target is not None:
            from .share.sharing import Sharing

            self.sharing = Sharing(self.ledger, target, self.started_at)

    # -- runs -----------------------------------------------------------------------------
    def track(
        self,
        label: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        quiet: bool = False,
        kind: str = "training",
        inferences: int | None = None,
        deferred_metrics: tuple[DeferredMetric, ...] = (),
        deferred_size: DeferredSize | None = None,
        group_id: str | None = None,
        repeat: int | None = None,
        threads: int | None = None,
        limits=None,
    ) -> Tracking:
        """Measure a with-block as one run: ``with session.track("Small RF") as run: ...``."""
        if label is None:
            label = f"run {self.runs_recorded + len(self._active) + 1}"
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"label must be a non-empty string, got {label!r}")
        if kind not in RUN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
        run = Run(
            label.strip(),
            session_id=self.session_id,
            machine=self.machine(),
            tags=check_tags(tags),
            kind=kind,
            inferences=check_inferences(inferences),
            group_id=group_id,
            repeat=repeat,
            parent_run_id=self.active_run.run_id if self.active_run is not None else None,
            threads=threads,
            share_target=self.sharing.target.key if self.sharing is not None else None,
            mlflow_parent=self.sharing.user_mlflow_run() if self.sharing is not None else None,
        )
        return Tracking(
            self,
            run,
            quiet=quiet,
            deferred_metrics=deferred_metrics,
            deferred_size=deferred_size,
            limits=limits,
        )

    def machine(self) -> dict[str, Any]:
        hw = self.hardware
        return {
            "hostname": hw.hostname,
            "cpu_model": hw.cpu_model,
            "cpu_count": hw.cpu_count,
            "gpu_model": hw.gpu_model,
        }

    def run_started(self, run: Run) -> None:
        self._active.append(run)

    def run_ended(self, run: Run) -> None:
        if run in self._active:
            self._active.remove(run)
        self.runs_recorded += 1
        m = run.measurement
        if run.parent_run_id is None:  # a nested run is in its parent's figures
            self.used["runs"] += 1
            self.used["cells"] += run.kind == "cell"
            if m is not None:
                self.used["energy_kwh"] += m.energy_kwh
                self.used["emissions_kg"] += m.emissions_kg
        if self.budget is not None:
            self.budget.check(self.used[self.budget.kind])

    def budget_text(self) -> str | None:
        """'2.1 of 5 g CO2e' while a budget is set."""
        if self.budget is None:
            return None
        return self.budget.used_text(self.used[self.budget.kind])

    def budget_suffix(self) -> str:
        """What a summary line ends with while a budget is set: ' · 2.1 of 5 g CO2e'."""
        text = self.budget_text()
        return f" · {text}" if text else ""

    @property
    def active_run(self) -> Run | None:
        return self._active[-1] if self._active else None

    # -- listeners ----------------------------------------------------------------------
    def add_listener(self, listener: Callable[[Run], None]) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Run], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, run: Run) -> None:
        """Tell every listener (the panel) that a run was recorded; a failing one only warns."""
        if self.sharing is not None:
            try:
                self.sharing.run_recorded()
            except Exception as failure:
                warn(f"could not queue run {run.label!r} for MLflow: {failure}", ShareWarning)
        for listener in list(self._listeners):
            try:
                listener(run)
            except Exception as failure:
                warn(f"a listener failed after run {run.label!r}: {failure}", MeasurementWarning)

    # -- reading ------------------------------------------------------------------------
    def read_runs(self, all_sessions: bool = False):
        """This session's runs (or every session's) as rows from the ledger."""
        return self.ledger.read_runs(None if all_sessions else self.session_id)

    def compare(self, all_sessions: bool = False, metric: str | None = None, priced_at=None):
        """The comparison of this session's runs (``compare.Comparison``); ``priced_at``: a
        what-if at that location (energy as measured)."""
        from .compare.comparison import compare

        return compare(self.read_runs(all_sessions), metric, priced_at=priced_at)

    def to_frame(self, all_sessions: bool = False, metric: str | None = None):
        """The runs with their derived trade-off columns, as ``%carbon table`` shows them."""
        return self.compare(all_sessions, metric).frame

    def totals(self) -> dict[str, Any]:
        """This session's footprint so far (runs inside other runs counted once)."""
        return dict(self.used)

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
            "static_power_w": c.static_power_w,
            **self.machine(),
            "rapl": bool(hw.rapl_domains),
            "rapl_root_only": not hw.rapl_domains and rapl_unreadable(),
            "ledger_path": str(self.ledger.path),
            "ledger_in_memory": self.ledger.in_memory,
            "session_id": self.session_id,
            "totals": self.totals(),
            "budget": self.budget_text(),
            "sharing": self.sharing.status_line() if self.sharing is not None else None,
            "mlcost_version": __version__,
            "codecarbon_version": codecarbon_version(),
        }

    def status_text(self) -> str:
        from .views.status import status_text

        return status_text(self.describe())

    def close(self) -> None:
        self._listeners.clear()
        if self.sharing is not None:
            self.sharing.close()
        self.ledger.close()


# -- the process's active session (the kernel's, or a default one for scripts) -------------
_active_session: Session | None = None
_active_lock = threading.Lock()


def current_session() -> Session:
    """The session `track()` records into: the loaded extension's, else one for this process."""
    global _active_session
    with _active_lock:
        if _active_session is None:
            session = Session()
            from .views.frontend import jupyter_frontend

            session.live_meter_enabled = jupyter_frontend()
            _active_session = session
        return _active_session


def activate(session: Session | None) -> None:
    global _active_session
    with _active_lock:
        _active_session = session


def active_session() -> Session | None:
    return _active_session


def track(
    label: str | None = None, tags: Mapping[str, Any] | None = None, *, quiet: bool = False
) -> Tracking:
    """Measure a block: `with mlcost_magic.track("Small RF") as run: ...; run.log_metric(...)`."""
    return current_session().track(label, tags, quiet=quiet)


def _run_in_progress(call: str) -> Run:
    session = _active_session
    run = session.active_run if session is not None else None
    if run is None:
        raise RuntimeError(
            f"{call}() needs a run in progress: call it inside a %%carbon cell or a "
            "`with mlcost_magic.track(...)` block"
        )
    return run


def log_metric(name: str, value: float) -> None:
    """Attach a metric to the run in progress (the innermost tracked cell or block)."""
    _run_in_progress("log_metric").log_metric(name, value)


def log_size(size: int) -> None:
    """Record the model size of the run in progress: ``log_size(model_size(model))``."""
    _run_in_progress("log_size").log_size(size)


def repeat(
    label: str,
    n: int,
    fn: Callable[[], Any],
    *,
    warmup: int = 0,
    tags: Mapping[str, Any] | None = None,
    quiet: bool = False,
):
    """Call ``fn()`` warmup + n times, the last n measured as one group; returns a RunGroup
    (``group.energy_kwh.mean``, ``.sd``, ``.ci95``). When ``fn`` returns a mapping of names to
    numbers, they are logged as the repeat's metrics (``lambda: {"accuracy": ...}``)."""
    from .repeats import run_repeats

    session = current_session()

    def body():
        value = fn()
        run = session.active_run  # None during the warm-up calls
        if run is not None and isinstance(value, Mapping):
            for name, number in value.items():
                run.log_metric(name, number)
        return value

    return run_repeats(session, label, n, body, warmup=warmup, tags=tags, quiet=quiet)


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
