"""Caps: ``%%carbon --max-co2 1g --max-energy 10Wh --max-duration 10m`` stop a cell at a limit.

A watchdog thread measures the run every CHECK_INTERVAL_S (the same live figure as the live
meter) and, once a limit is reached, raises :class:`CapReached` in the thread running the
cell. It is a KeyboardInterrupt subclass: ``except Exception`` in the user's code does not
swallow it, ``finally`` blocks run, and the kernel stays usable. The run is recorded with
status ``capped`` and what it used until then. Limit: the exception arrives when the cell
next runs Python code, so one long C call (a single ``time.sleep``, one huge numpy operation)
is stopped when it returns.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .measure.counters import own_threads
from .units import format_duration, format_energy, format_mass, parse_budget

CHECK_INTERVAL_S = 0.5  # "at least once a second"
DURATION_UNITS_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class CapReached(KeyboardInterrupt):
    """A ``--max-*`` limit stopped the cell; the message says which one."""


@dataclass(frozen=True)
class Limits:
    emissions_kg: float | None = None
    energy_kwh: float | None = None
    duration_s: float | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.emissions_kg, self.energy_kwh, self.duration_s))

    def reached(self, measurement) -> str | None:
        """'max-co2 1 g reached (1.02 g)' when one limit is reached, else None."""
        m = measurement
        if self.emissions_kg is not None and m.emissions_kg >= self.emissions_kg:
            return f"--max-co2 {format_mass(self.emissions_kg)} reached"
        if self.energy_kwh is not None and m.energy_kwh >= self.energy_kwh:
            return f"--max-energy {format_energy(self.energy_kwh)} reached"
        if self.duration_s is not None and m.duration_s >= self.duration_s:
            return f"--max-duration {format_duration(self.duration_s)} reached"
        return None


def parse_limits(max_co2: str | None, max_energy: str | None, max_duration: str | None) -> Limits:
    """The three options as given on the line; ValueError (one line) for a bad one."""
    co2 = energy = duration = None
    if max_co2 is not None:
        kind, co2 = parse_budget(max_co2)
        if kind != "emissions_kg":
            raise ValueError(f"--max-co2 needs a mass (1g, 500mg), got {max_co2!r}")
    if max_energy is not None:
        kind, energy = parse_budget(max_energy)
        if kind != "energy_kwh":
            raise ValueError(f"--max-energy needs an energy (10Wh, 1kWh), got {max_energy!r}")
    if max_duration is not None:
        duration = parse_duration(max_duration)
    return Limits(co2, energy, duration)


def parse_duration(text: str) -> float:
    raw = text.strip().lower()
    for suffix in sorted(DURATION_UNITS_S, key=len, reverse=True):
        if raw.endswith(suffix):
            try:
                value = float(raw[: -len(suffix)])
            except ValueError:
                break
            if value > 0 and value == value and value != float("inf"):
                return value * DURATION_UNITS_S[suffix]
            break
    raise ValueError(f"--max-duration looks like 30s, 10m, 1h, got {text!r}")


class Watchdog:
    """Checks a running cell against its limits; stopped (and joined) before the run ends."""

    def __init__(self, limits: Limits, measure_now: Callable[[], object]):
        self.limits, self._measure_now = limits, measure_now
        self.reason: str | None = None
        self._target = threading.get_ident()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="mlcost-caps", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        own_threads.add_current()
        try:
            while not self._done.wait(CHECK_INTERVAL_S):
                try:
                    reason = self.limits.reached(self._measure_now())
                except Exception:
                    continue
                if reason is not None:
                    with self._lock:
                        if not self._done.is_set():
                            self.reason = reason
                            _raise_in(self._target, CapReached)
                    return
        finally:
            own_threads.discard_current()

    def stop(self) -> None:
        """No exception may arrive after this: a pending one is withdrawn."""
        with self._lock:
            self._done.set()
            if self.reason is not None:
                _raise_in(self._target, None)  # withdraw it if not delivered yet
        self._thread.join()


def _raise_in(thread_ident: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_ident), ctypes.py_object(exception) if exception else None
    )
