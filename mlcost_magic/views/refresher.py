"""The panel's worker thread: what is stale, when it may be redrawn, and the one thread that
redraws it, so the kernel's main thread never draws (see ``views.panel``).

A subclass provides ``refresh(figure)``, ``footer`` and ``_footer()``; it calls
``_init_refresh(refresh_every_s)`` first and ``_start_worker()`` once its widgets exist. The
table is refreshed at most every TABLE_MIN_INTERVAL_S; the figure when it is due (after the
cell, or at once on a click). ``refresh_every_s`` adds a timer (the shared panel re-reads
MLflow every 10 s). The worker's CPU time is registered as the tool's own.
"""

from __future__ import annotations

import math
import sys
import threading
import time

from ..measure import counters

TABLE_MIN_INTERVAL_S = 0.25  # refresh rate of the table during one cell's loop of runs
IDLE_WAIT_S = 30.0
# While the worker draws, Python hands the GIL over every WORKER_SWITCH_INTERVAL_S instead of
# its default 5 ms, so the kernel's main thread (a new cell arriving) waits at most about that
# long each time it needs the interpreter. Measured: benchmarks/bench_panel.py.
WORKER_SWITCH_INTERVAL_S = 0.0005


class BackgroundRefresh:
    def _init_refresh(self, refresh_every_s: float | None = None) -> None:
        self.last_error: str | None = None
        self._closed = False
        # Work for the worker (guarded by _wake): what is stale, what may be drawn now.
        self._wake = threading.Condition()
        self.table_stale = False
        self.figure_stale = True
        self._figure_due = False
        self._sort_due = False
        self._busy = False
        self._last_table_at = -math.inf
        self.refresh_every_s = refresh_every_s
        self._next_reload = math.inf if refresh_every_s is None else 0.0
        self._worker: threading.Thread | None = None

    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._work, name="mlcost-panel", daemon=True)
        self._worker.start()

    def _request(
        self, table_now: bool = False, figure_now: bool = False, sort_now: bool = False
    ) -> None:
        with self._wake:
            self.table_stale = self.table_stale or table_now or sort_now
            self._sort_due = self._sort_due or sort_now
            self._figure_due = self._figure_due or figure_now
            self._wake.notify()

    def _work(self) -> None:
        counters.own_threads.add_current()
        try:
            while True:
                with self._wake:
                    while not self._closed and not self._has_work():
                        if time.monotonic() >= self._next_reload:  # the timer: all of it
                            self._next_reload = time.monotonic() + self.refresh_every_s
                            self.table_stale = self.figure_stale = self._figure_due = True
                            continue
                        self._wake.wait(timeout=self._wait_s())
                    if self._closed:
                        return
                    draw = self._figure_due and self.figure_stale
                    self._figure_due = False
                    self._sort_due = False
                    self.table_stale = False
                    if draw:
                        self.figure_stale = False
                    self._busy = True
                self._guarded(figure=draw)
                self._last_table_at = time.perf_counter()
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()
        finally:
            counters.own_threads.discard_current()

    def _has_work(self) -> bool:
        if self._figure_due and self.figure_stale:
            return True
        if self._sort_due:
            return True
        throttle_over = time.perf_counter() - self._last_table_at >= TABLE_MIN_INTERVAL_S
        return self.table_stale and throttle_over

    def _wait_s(self) -> float | None:
        """Until the table may be refreshed again, or the timer is due (None: until woken)."""
        waits = []
        if self.table_stale:
            waits.append(TABLE_MIN_INTERVAL_S - (time.perf_counter() - self._last_table_at))
        if not math.isinf(self._next_reload):
            waits.append(self._next_reload - time.monotonic())
        return max(min(waits), 0.001) if waits else None

    def _guarded(self, figure: bool) -> None:
        default_interval_s = sys.getswitchinterval()
        sys.setswitchinterval(min(default_interval_s, WORKER_SWITCH_INTERVAL_S))
        try:
            self.refresh(figure=figure)
            self.last_error = None
        except Exception as error:  # never break the kernel because of the panel
            self.last_error = f"{type(error).__name__}: {error}"
            try:
                self.footer.value = self._footer()
            except Exception:
                pass
        finally:
            sys.setswitchinterval(default_interval_s)

    def wait_idle(self, timeout_s: float = IDLE_WAIT_S) -> bool:
        """Wait until the worker has done everything asked of it so far; True when it has."""
        if self._worker is None:
            return True
        deadline = time.monotonic() + timeout_s
        with self._wake:
            while self._busy or self.table_stale or (self._figure_due and self.figure_stale):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(timeout=min(left, 0.05))
        return True

    def _stop_worker(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()

    def _join_worker(self) -> None:
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=IDLE_WAIT_S)
