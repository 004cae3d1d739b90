"""The comparison panel: ipywidgets wiring only (the table, figures and numbers come from
:mod:`.table`, :mod:`.figure`, :mod:`.bubbles` and ``compare``).

Controls: metric, sort, and "priced at" (a what-if: ``compare(rows, priced_at=...)``, the
table and figures captioned so). The bubble chart is shown once some run has a model size.
The shared panel (``%carbon panel --mlflow``) reads its rows from a ``source`` (the MLflow
experiment), re-reads them on a timer, groups them by label, user or host, and adds the
hardware comparison (:mod:`.hosts`) once a label has runs on two hosts.

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
from typing import Any

import pandas as pd

from ..compare.comparison import Comparison, compare
from ..compare.pricing import country_choices
from ..compare.tradeoffs import FIXED_COLUMNS, is_lower_better
from ..errors import PanelWarning, warn
from . import bubbles, figure, table
from .frontend import jupyter_frontend
from .refresher import BackgroundRefresh
from .status import footer_html

__all__ = ["CarbonPanel", "footer_html", "show_panel"]

FIGURE_DPI = 72
RUN_ORDER = ""
AS_MEASURED = ""


class CarbonPanel(BackgroundRefresh):
    """Live comparison of this session's runs: metric chooser, sortable table, figure, footer.

    ``session`` needs ``read_runs()``, ``add_listener(fn)``, ``remove_listener(fn)`` and
    ``describe()``. With the IPython ``shell``, refreshes run on a worker thread and the figure
    waits for ``post_run_cell``; :meth:`wait_idle` waits for the worker. Call :meth:`close` to
    stop listening (the widgets keep their last state).
    """

    def __init__(
        self,
        session: Any,
        shell: Any = None,
        metric: str | None = None,
        priced_at: str = "",
        source: Any = None,
        refresh_every_s: float | None = None,
    ) -> None:
        """``source``: a callable returning the rows to show (default: the session's runs);
        the shared panel passes the MLflow experiment's, and a ``refresh_every_s``."""
        import ipywidgets as widgets

        self.session = session
        self.shell = shell
        self.metric = metric
        self.source = source  # None: the session's runs, read anew each time
        self.shared = source is not None
        self.group_by = "label"
        self._rows = pd.DataFrame(columns=list(FIXED_COLUMNS))
        self.priced_at = priced_at or AS_MEASURED  # a location name; "" = as measured
        self.comparison: Comparison = compare(self._rows)
        self.png = b""
        self.bubbles_png = b""
        self.refreshes = 0  # comparisons computed (one per refresh, shared by table and figure)
        self.figure_runs = 0  # runs in the comparison the figure last showed
        self._init_refresh(refresh_every_s)
        self._error_reported = False
        self._updating = False
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
        # Shared runs: group by label, user or host; the hardware comparison once a label
        # has runs on several hosts.
        self.group_dropdown = widgets.Dropdown(
            description="group by",
            options=[("label", "label"), ("user", "user"), ("host", "hostname")],
            value="label",
            layout=widgets.Layout(display=None if self.shared else "none"),
        )
        self.hosts_figure = widgets.Image(
            format="png", layout=widgets.Layout(max_width="100%", display="none")
        )
        self.hosts_png = b""
        self.footer = widgets.HTML()
        self.metric_dropdown.add_class("mlcost-metric")
        self.sort_dropdown.add_class("mlcost-sort")
        self.ascending_toggle.add_class("mlcost-ascending")
        self.priced_dropdown.add_class("mlcost-priced-at")
        self.table.add_class("mlcost-table")
        self.figure.add_class("mlcost-figure")
        self.bubbles.add_class("mlcost-bubbles")
        self.group_dropdown.add_class("mlcost-group")
        self.hosts_figure.add_class("mlcost-hosts-figure")
        self.footer.add_class("mlcost-footer")
        controls = widgets.HBox(
            [
                self.metric_dropdown,
                self.group_dropdown,
                self.sort_dropdown,
                self.ascending_toggle,
                self.priced_dropdown,
            ]
        )
        self.widget = widgets.VBox(
            [controls, self.table, self.figure, self.bubbles, self.hosts_figure, self.footer]
        )
        self.widget.add_class("mlcost-panel")

        self.metric_dropdown.observe(self._on_metric_change, names="value")
        self.sort_dropdown.observe(self._on_sort_change, names="value")
        self.ascending_toggle.observe(self._on_sort_change, names="value")
        self.priced_dropdown.observe(self._on_priced_change, names="value")
        self.group_dropdown.observe(self._on_group_change, names="value")
        self.refresh(figure=True)  # synchronous: the display shows a complete panel
        session.add_listener(self._listener)
        if shell is not None:
            shell.events.register("post_run_cell", self._post_run_cell)
            self._start_worker()

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
        if "hostname" in self._rows.columns and self._rows["hostname"].nunique() > 1:
            from ..compare.hosts import host_comparison
            from .hosts import plot_hosts

            hosts = host_comparison(self._rows)
            if not hosts.empty:
                self.hosts_png = figure.figure_to_png_bytes(plot_hosts(hosts), FIGURE_DPI)
                self.hosts_figure.value = self.hosts_png
                self.hosts_figure.layout.display = None

    def _compare(self) -> Comparison:
        from ..compare.hosts import regroup

        self._rows = rows = (self.source or self.session.read_runs)()
        if self.group_by != "label" and self.group_by in rows.columns:
            rows = regroup(rows, self.group_by)
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

    def _on_group_change(self, change: dict) -> None:
        if self._updating or change["new"] is None:
            return
        self.group_by = change["new"]
        self._redraw_all()

    def reload(self) -> None:
        """Read the rows again and redraw everything (after ``%carbon sync``)."""
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
            self._stop_worker()
            try:
                self.session.remove_listener(self._listener)
            except (ValueError, KeyError):
                pass
            if self.shell is not None:
                try:
                    self.shell.events.unregister("post_run_cell", self._post_run_cell)
                except ValueError:
                    pass
            self._join_worker()
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


def show_panel(
    session: Any, shell: Any = None, source: Any = None, refresh_every_s: float | None = None
) -> CarbonPanel | None:
    """Display the live panel in a notebook and return it; in a terminal, print the text table.
    ``source``/``refresh_every_s``: the shared panel's rows (see :class:`CarbonPanel`).

    Returns None when there is no widget frontend (terminal IPython, plain Python).
    """
    if shell is None:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:
            shell = None
    if not jupyter_frontend(shell):
        print(table.text_table(compare((source or session.read_runs)())))
        return None
    from IPython.display import display

    panel = CarbonPanel(session, shell, source=source, refresh_every_s=refresh_every_s)
    display(panel)
    return panel
