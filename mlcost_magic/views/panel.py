"""The comparison panel: ipywidgets wiring only (the table, figures and numbers come from
:mod:`.table`, :mod:`.figure`, :mod:`.bubbles` and ``compare``).

Controls: metric, sort, and "priced at" (a what-if: ``compare(rows, priced_at=...)``, the
table and figures captioned so). The bubble chart is shown once some run has a model size.

It never holds up the kernel. A recorded run (the session's listener, on the kernel's main
thread) only marks the panel stale and wakes a worker thread; the worker reads the session's
rows once, computes the comparison once, and sets the table's ``HTML.value``, then - once the
cell has ended (the shell's ``post_run_cell``) - draws the figure and sets ``Image.value``. A loop
of runs in one cell refreshes the table at most every TABLE_MIN_INTERVAL_S and the figure once.
The worker's CPU time is registered as the tool's own, so a tracked cell that overlaps a redraw
is not charged for it (``measure.counters.own_threads``). Widgets are only ever updated by
setting trait values (no ``Output`` widget, no ``clear_output``). Without a shell (a script,
a test) everything is refreshed at once, synchronously.

Displayed, the panel's mimebundle carries, besides the widget view, a PNG of the figure and the
text table: JupyterLab shows the live widget, while GitHub and nbviewer (which cannot run
widgets) show the static figure saved in the notebook (the figure as it was when displayed).
"""

from __future__ import annotations

import base64
import html
import math
import sys
import threading
import time
from typing import Any

import pandas as pd

from ..compare.comparison import Comparison, compare
from ..compare.pricing import country_choices
from ..compare.tradeoffs import FIXED_COLUMNS, is_lower_better
from ..errors import PanelWarning, warn
from ..measure import counters
from . import bubbles, figure, table
from .frontend import jupyter_frontend
from .status import footer_html

__all__ = ["CarbonPanel", "footer_html", "show_panel"]

FIGURE_DPI = 72
TABLE_MIN_INTERVAL_S = 0.25  # refresh rate of the table during one cell's loop of runs
RUN_ORDER = ""
AS_MEASURED = ""
IDLE_WAIT_S = 30.0
# While the worker draws, Python hands the GIL over every WORKER_SWITCH_INTERVAL_S instead of
# its default 5 ms, so the kernel's main thread (a new cell arriving) waits at most about that
# long each time it needs the interpreter. Measured: benchmarks/bench_panel.py.
WORKER_SWITCH_INTERVAL_S = 0.0005


class CarbonPanel:
    """Live comparison of this session's runs: metric chooser, sortable table, figure, footer.

    ``session`` needs ``read_runs()``, ``add_listener(fn)``, ``remove_listener(fn)`` and
    ``describe()``. With the IPython ``shell``, refreshes run on a worker thread and the figure
    waits for ``post_run_cell``; :meth:`wait_idle` waits for the worker. Call :meth:`close` to
    stop listening (the widgets keep their last state).
    """

    def __init__(
        self, session: Any, shell: Any = None, metric: str | None = None, priced_at: str = ""
    ) -> None:
        import ipywidgets as widgets

        self.session = session
        self.shell = shell
        self.metric = metric
        self.priced_at = priced_at or AS_MEASURED  # a location name; "" = as measured
        self.comparison: Comparison = compare(pd.DataFrame(columns=list(FIXED_COLUMNS)))
        self.png = b""
        self.bubbles_png = b""
        self.refreshes = 0  # comparisons computed (one per refresh, shared by table and figure)
        self.figure_runs = 0  # runs in the comparison the figure last showed
        self.last_error: str | None = None
        self._error_reported = False
        self._updating = False
        self._closed = False
        # Work for the worker (guarded by _wake): what is stale, what may be drawn now.
        self._wake = threading.Condition()
        self.table_stale = False
        self.figure_stale = True
        self._figure_due = False
        self._sort_due = False
        self._busy = False
        self._last_table_at = -math.inf
        # Bound methods kept once: unregistering needs the very objects that were registered.
        self._listener = self._on_run
        self._post_run_cell = self._on_post_run_cell

        self.metric_dropdown = widgets.Dropdown(description="metric", options=[])
        self.sort_dropdown = widgets.Dropdown(
            description="sort by", options=[("run order", RUN_ORDER)]
        )
        self.ascending_toggle = widgets.ToggleButton(
            value=True, description="ascending", icon="sort-amount-asc", tooltip="sort direction"
        )
        self.priced_dropdown = widgets.Dropdown(
            description="priced at",
            options=[("as measured", AS_MEASURED), *country_choices()],
            value=self.priced_at,
        )
        self.table = widgets.HTML()
        self.figure = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.bubbles = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.bubbles.layout.display = "none"  # until some run has a model size
        self.footer = widgets.HTML()
        self.metric_dropdown.add_class("mlcost-metric")
        self.sort_dropdown.add_class("mlcost-sort")
        self.ascending_toggle.add_class("mlcost-ascending")
        self.priced_dropdown.add_class("mlcost-priced-at")
        self.table.add_class("mlcost-table")
        self.figure.add_class("mlcost-figure")
        self.bubbles.add_class("mlcost-bubbles")
        self.footer.add_class("mlcost-footer")
        controls = widgets.HBox(
            [self.metric_dropdown, self.sort_dropdown, self.ascending_toggle, self.priced_dropdown]
        )
        self.widget = widgets.VBox([controls, self.table, self.figure, self.bubbles, self.footer])
        self.widget.add_class("mlcost-panel")

        self.metric_dropdown.observe(self._on_metric_change, names="value")
        self.sort_dropdown.observe(self._on_sort_change, names="value")
        self.ascending_toggle.observe(self._on_sort_change, names="value")
        self.priced_dropdown.observe(self._on_priced_change, names="value")
        self.refresh(figure=True)  # synchronous: the display shows a complete panel
        session.add_listener(self._listener)
        self._worker = None
        if shell is not None:
            shell.events.register("post_run_cell", self._post_run_cell)
            self._worker = threading.Thread(target=self._work, name="mlcost-panel", daemon=True)
            self._worker.start()

    @property
    def frame(self):
        """The runs as last shown, with their derived columns."""
        return self.comparison.frame

    # -- refreshing (the worker's, or the caller's without a shell) ---------------------------

    def refresh(self, figure: bool = True) -> None:
        """Re-read the session's runs, compare them once, update the table (and the figure)."""
        self.comparison = self._compare()
        self.refreshes += 1
        self._update_controls()
        self._update_table()
        self.footer.value = self._footer()
        if figure:
            self.refresh_figure()

    def refresh_figure(self) -> None:
        """Draw the four-panel figure (and the bubble chart, once runs have sizes) of the
        current comparison into the Image widgets."""
        comparison = self.comparison
        drawn = figure.plot_tradeoffs(comparison)
        self.png = figure.figure_to_png_bytes(drawn, FIGURE_DPI)
        self.figure.value = self.png
        self.bubbles_png = bubbles.bubble_png(comparison, FIGURE_DPI)
        if self.bubbles_png:
            self.bubbles.value = self.bubbles_png
        self.bubbles.layout.display = None if self.bubbles_png else "none"
        self.figure_runs = len(comparison.frame)

    def _compare(self) -> Comparison:
        rows = self.session.read_runs()
        metric = self.metric if self.metric in rows.columns else None
        return compare(rows, metric, priced_at=self.priced_at or None)

    def _update_controls(self) -> None:
        self._updating = True
        try:
            options = self.comparison.metrics
            labelled = [(f"{m} (lower is better)" if is_lower_better(m) else m, m) for m in options]
            if list(self.metric_dropdown.options) != labelled:
                self.metric_dropdown.options = labelled
            self.metric_dropdown.value = self.comparison.metric
            self.metric_dropdown.disabled = not options
            columns = table.table_columns(self.comparison)
            sort_options = [("run order", RUN_ORDER)] + [(c.header, c.name) for c in columns]
            current = self.sort_dropdown.value
            if list(self.sort_dropdown.options) != sort_options:
                self.sort_dropdown.options = sort_options
            names = [name for _, name in sort_options]
            self.sort_dropdown.value = current if current in names else RUN_ORDER
            ascending = self.ascending_toggle.value
            self.ascending_toggle.description = "ascending" if ascending else "descending"
            self.ascending_toggle.icon = "sort-amount-asc" if ascending else "sort-amount-desc"
        finally:
            self._updating = False

    def _update_table(self) -> None:
        self.table.value = table.html_table(
            self.comparison,
            sort_by=self.sort_dropdown.value or None,
            ascending=self.ascending_toggle.value,
        )

    def _footer(self) -> str:
        try:
            line = footer_html(self.session.describe())
        except Exception as error:  # a broken description must not break the panel
            line = f'<div class="mlcost-footer-line">{html.escape(repr(error))}</div>'
        if self.last_error:
            line += (
                '<div class="mlcost-footer-error" style="font-size:11px;color:#a00">'
                f"panel could not refresh: {html.escape(self.last_error)}</div>"
            )
        return line

    # -- the worker ---------------------------------------------------------------------------

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
                        self._wake.wait(timeout=self._table_wait_s())
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

    def _table_wait_s(self) -> float | None:
        if not self.table_stale:
            return None
        return max(TABLE_MIN_INTERVAL_S - (time.perf_counter() - self._last_table_at), 0.001)

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

    # -- events (main thread: cheap, never draws) ---------------------------------------------

    def _on_run(self, run: Any = None) -> None:
        """Session listener: a run was recorded. The table follows soon, the figure after the
        cell. Without a shell both are redrawn at once."""
        if self._worker is None:
            self._refresh_now(figure=True)
            return
        with self._wake:
            self.figure_stale = True
        self._request(table_now=True)

    def _on_post_run_cell(self, result: Any = None) -> None:
        self._request(figure_now=True)
        if self.last_error and not self._error_reported:
            self._error_reported = True  # once, on the main thread, into the cell that ran
            warn(f"the panel could not refresh: {self.last_error}", PanelWarning, stacklevel=2)

    def _refresh_now(self, figure: bool) -> None:
        try:
            self.refresh(figure=figure)
            self.figure_stale = not figure and self.figure_stale
        except Exception as error:  # never fail the user's cell because of the panel
            warn(f"the panel could not refresh: {error!r}", PanelWarning, stacklevel=3)

    def _on_metric_change(self, change: dict) -> None:
        if self._updating or change["new"] is None:
            return
        self.metric = change["new"]
        self._redraw_all()

    def _on_priced_change(self, change: dict) -> None:
        """Priced at another location (or as measured): table and figures re-priced."""
        self.priced_at = change["new"] or AS_MEASURED
        self._redraw_all()

    def _redraw_all(self) -> None:
        if self._worker is None:
            self._refresh_now(figure=True)
            return
        with self._wake:
            self.figure_stale = True
        self._request(table_now=True, figure_now=True)

    def _on_sort_change(self, change: dict) -> None:
        if self._updating:
            return
        if self._worker is None:
            self._update_controls()
            self._update_table()
            return
        self._request(sort_now=True)  # the worker is the table's one writer; a click: at once

    # -- lifecycle and display ----------------------------------------------------------------

    def close(self, close_widgets: bool = False) -> None:
        """Stop listening to the session and the shell, stop the worker (idempotent);
        optionally close the widgets."""
        if not self._closed:
            with self._wake:
                self._closed = True
                self._wake.notify_all()
            try:
                self.session.remove_listener(self._listener)
            except (ValueError, KeyError):
                pass
            if self.shell is not None:
                try:
                    self.shell.events.unregister("post_run_cell", self._post_run_cell)
                except ValueError:
                    pass
            if self._worker is not None and self._worker is not threading.current_thread():
                self._worker.join(timeout=IDLE_WAIT_S)
        if close_widgets:
            self._close_widgets()

    def _close_widgets(self, box=None) -> None:
        box = self.widget if box is None else box
        for child in getattr(box, "children", ()):
            self._close_widgets(child)
        box.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        if self.png:
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        bundle["text/plain"] = table.text_table(self.comparison)
        return bundle


def show_panel(session: Any, shell: Any = None) -> CarbonPanel | None:
    """Display the live panel in a notebook and return it; in a terminal, print the text table.

    Returns None when there is no widget frontend (terminal IPython, plain Python).
    """
    if shell is None:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:
            shell = None
    if not jupyter_frontend(shell):
        print(table.text_table(compare(session.read_runs())))
        return None
    from IPython.display import display

    panel = CarbonPanel(session, shell)
    display(panel)
    return panel
