"""The live meter: elapsed time and energy so far while a tracked cell runs, in a Jupyter kernel.

One short-lived thread per tracked run; it shows nothing for runs shorter than FIRST_SHOW_S,
then a display output it refreshes every REFRESH_S, which the one-line summary replaces when the
run ends. No thread outlives its run. Display updates are plain iopub messages (no Output widget).
"""

from __future__ import annotations

import contextvars
import html
import threading
from collections.abc import Callable

from ..measure.counters import own_threads

FIRST_SHOW_S = 0.5
REFRESH_S = 0.9  # "at least once a second"; each refresh costs the kernel about 1.5 ms CPU


def _bundle(text: str, css_class: str) -> dict:
    return {
        "text/plain": text,
        "text/html": f'<pre class="{css_class}" style="margin:0">{html.escape(text)}</pre>',
    }


class LiveMeter:
    def __init__(self, read_text: Callable[[], str]):
        """read_text() gives the current 'running' line; called from the meter's thread."""
        self._read_text = read_text
        self._done = threading.Event()
        self._handle = None
        context = contextvars.copy_context()  # the kernel routes output by the cell's context
        self._thread = threading.Thread(
            target=context.run, args=(self._loop,), name="mlcost-live-meter", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        from IPython.display import display

        own_threads.add_current()
        try:
            self._show(display)
        finally:
            own_threads.discard_current()

    def _show(self, display) -> None:
        if self._done.wait(FIRST_SHOW_S):
            return
        try:
            self._handle = display(
                _bundle(self._read_text(), "mlcost-live-meter"), raw=True, display_id=True
            )
            while not self._done.wait(REFRESH_S):
                self._handle.update(_bundle(self._read_text(), "mlcost-live-meter"), raw=True)
        except Exception:  # a closed kernel or frontend: the summary still prints at the end
            return

    def finish(self, summary: str | None) -> None:
        """Stop the thread; turn the meter into the summary line (or print it if never shown)."""
        self._done.set()
        self._thread.join()
        if summary is None:
            if self._handle is not None:
                self._handle.update({"text/plain": ""}, raw=True)
            return
        if self._handle is not None:
            self._handle.update(_bundle(summary, "mlcost-summary"), raw=True)
        else:
            print(summary)
