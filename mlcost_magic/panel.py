"""The comparison panel: ipywidgets wiring only (the table, figure and numbers come from
:mod:`formatting`, :mod:`plots` and :mod:`metrics`).

Refresh policy: every recorded run (the session's listener, called on the kernel's main thread)
re-reads the session frame and resets the table's ``HTML.value``, which is cheap. The figure,
about 0.2 s to draw, is only marked stale; when the panel knows the shell it is redrawn once in
the shell's ``post_run_cell`` event, so a loop of ``track()`` blocks in one cell redraws once and a
tracked cell's measured duration never includes drawing. Without a shell it is redrawn at once.
Widgets are only ever updated by setting trait values (no ``Output`` widget, no
``clear_output``).

Displayed, the panel's mimebundle carries, besides the widget view, a PNG of the figure and the
text table: JupyterLab shows the live widget, while GitHub and nbviewer (which cannot run
widgets) show the static figure saved in the notebook. That image is the figure as it was when
the panel was displayed.
"""

from __future__ import annotations

import base64
import html
import math
import time
import warnings
from typing import Any

import pandas as pd

from . import formatting, metrics, plots

__all__ = ["CarbonPanel", "footer_html", "has_widget_frontend", "show_panel", "text_table"]

text_table = formatting.text_table
FIGURE_DPI = 72
TABLE_MIN_INTERVAL_S = 0.25  # refresh rate of the table during one cell's loop of runs
RUN_ORDER = ""


def has_widget_frontend(shell: Any) -> bool:
    """True in a Jupyter kernel (widgets can render); False in terminal IPython or no shell."""
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)


def footer_html(description: dict) -> str:
    """One line: method, country and carbon intensity (all values escaped)."""

    def text(key: str, default: str = "?") -> str:
        value = description.get(key)
        return html.escape(default if value is None or value == "" else str(value))

    intensity = description.get("carbon_intensity_g_per_kwh")
    intensity_text = "?" if intensity is None else f"{float(intensity):.0f}"
    country = text("country_name", "unknown country")
    if description.get("country_iso_code"):
        country += f" ({text('country_iso_code')})"
    parts = [
        f"method: {text('method')}",
        country,
        f"{intensity_text} gCO2/kWh ({text('intensity_source')})",
        f"PUE {text('pue')}",
    ]
    style = "font-size:11px;color:#666"
    return f'<div class="mlcost-footer-line" style="{style}">{" · ".join(parts)}</div>'


class CarbonPanel:
    """Live comparison of this session's runs: metric chooser, sortable table, figure, footer.

    ``session`` needs ``to_frame()``, ``add_listener(fn)``, ``remove_listener(fn)`` and
    ``describe()``. Pass the IPython ``shell`` to defer figure redraws to ``post_run_cell``.
    Call :meth:`close` to stop listening (the widgets keep their last state).
    """

    def __init__(self, session: Any, shell: Any = None, metric: str | None = None) -> None:
        import ipywidgets as widgets

        self.session = session
        self.shell = shell
        self.metric = metric
        self.frame = pd.DataFrame()
        self.figure_stale = True
        self.png = b""
        self.last_table_s = 0.0
        self.last_figure_s = 0.0
        self._updating = False
        self._closed = False
        self.table_stale = False
        self._last_run_refresh_at = -math.inf
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
        self.table = widgets.HTML()
        self.figure = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.footer = widgets.HTML()
        self.metric_dropdown.add_class("mlcost-metric")
        self.sort_dropdown.add_class("mlcost-sort")
        self.ascending_toggle.add_class("mlcost-ascending")
        self.table.add_class("mlcost-table")
        self.figure.add_class("mlcost-figure")
        self.footer.add_class("mlcost-footer")
        controls = widgets.HBox([self.metric_dropdown, self.sort_dropdown, self.ascending_toggle])
        self.widget = widgets.VBox([controls, self.table, self.figure, self.footer])
        self.widget.add_class("mlcost-panel")

        self.metric_dropdown.observe(self._on_metric_change, names="value")
        self.sort_dropdown.observe(self._on_sort_change, names="value")
        self.ascending_toggle.observe(self._on_sort_change, names="value")
        session.add_listener(self._listener)
        if shell is not None:
            shell.events.register("post_run_cell", self._post_run_cell)
        self.refresh(figure=True)

    # -- refreshing ---------------------------------------------------------------------------

    def refresh(self, figure: bool = True) -> None:
        """Re-read the session's runs and update the table (and the figure when asked)."""
        started = time.perf_counter()
        self.frame = self._read_frame()
        self._update_controls()
        self._update_table()
        self.footer.value = self._footer()
        self.last_table_s = time.perf_counter() - started
        self.table_stale = False
        self.figure_stale = True
        if figure:
            self.refresh_figure()

    def refresh_figure(self) -> None:
        """Redraw the four-panel figure into the Image widget."""
        started = time.perf_counter()
        fig = plots.plot_tradeoffs(self.frame, self.metric)
        self.png = plots.figure_to_png_bytes(fig, FIGURE_DPI)
        self.figure.value = self.png
        self.figure_stale = False
        self.last_figure_s = time.perf_counter() - started

    def _read_frame(self) -> pd.DataFrame:
        frame = self.session.to_frame()
        if self.metric is not None and self.metric not in frame.columns:
            self.metric = None
        return metrics.add_derived_columns(frame, self.metric)

    def _update_controls(self) -> None:
        self._updating = True
        try:
            options = metrics.metric_columns(self.frame)
            chosen = self.frame.attrs.get(metrics.ATTR_METRIC)
            labelled = [
                (f"{m} (lower is better)" if metrics.is_lower_better(m) else m, m) for m in options
            ]
            if list(self.metric_dropdown.options) != labelled:
                self.metric_dropdown.options = labelled
            self.metric_dropdown.value = chosen
            self.metric_dropdown.disabled = not options
            columns = formatting.table_columns(self.frame, self.metric)
            sort_options = [("run order", RUN_ORDER)] + [(c.header, c.name) for c in columns]
            current = self.sort_dropdown.value
            if list(self.sort_dropdown.options) != sort_options:
                self.sort_dropdown.options = sort_options
            names = [name for _, name in sort_options]
            self.sort_dropdown.value = current if current in names else RUN_ORDER
            self.ascending_toggle.description = (
                "ascending" if self.ascending_toggle.value else "descending"
            )
            self.ascending_toggle.icon = (
                "sort-amount-asc" if self.ascending_toggle.value else "sort-amount-desc"
            )
        finally:
            self._updating = False

    def _update_table(self) -> None:
        best = metrics.best_tradeoff(self.frame, self.metric) if not self.frame.empty else None
        self.table.value = formatting.html_table(
            self.frame,
            self.metric,
            best_index=best,
            sort_by=self.sort_dropdown.value or None,
            ascending=self.ascending_toggle.value,
        )

    def _footer(self) -> str:
        try:
            return footer_html(self.session.describe())
        except Exception as error:  # a broken description must not break the panel
            return f'<div class="mlcost-footer-line">{html.escape(repr(error))}</div>'

    # -- events -------------------------------------------------------------------------------

    def _on_run(self, run: Any = None) -> None:
        """Session listener: a run was recorded. Table now, figure now or after the cell.

        Within one cell (a loop of track() blocks) the table is refreshed at most every
        TABLE_MIN_INTERVAL_S, so a long loop is not slowed down by re-reading the ledger; the
        cell's end brings it up to date."""
        now = time.perf_counter()
        if self.shell is not None and now - self._last_run_refresh_at < TABLE_MIN_INTERVAL_S:
            self.table_stale = True
            return
        self._last_run_refresh_at = now
        try:
            self.refresh(figure=self.shell is None)
        except Exception as error:  # never fail the user's cell because of the panel
            warnings.warn(f"mlcost panel could not refresh: {error!r}", stacklevel=2)

    def _on_post_run_cell(self, result: Any = None) -> None:
        if self.table_stale:
            try:
                self.refresh(figure=False)
            except Exception as error:
                warnings.warn(f"mlcost panel could not refresh: {error!r}", stacklevel=2)
        if self.figure_stale:
            try:
                self.refresh_figure()
            except Exception as error:
                warnings.warn(f"mlcost panel could not redraw: {error!r}", stacklevel=2)

    def _on_metric_change(self, change: dict) -> None:
        if self._updating or change["new"] is None:
            return
        self.metric = change["new"]
        self.refresh(figure=True)

    def _on_sort_change(self, change: dict) -> None:
        if self._updating:
            return
        self._update_controls()
        self._update_table()

    # -- lifecycle and display ----------------------------------------------------------------

    def close(self, close_widgets: bool = False) -> None:
        """Stop listening to the session and the shell (idempotent); optionally close widgets."""
        if not self._closed:
            self._closed = True
            try:
                self.session.remove_listener(self._listener)
            except (ValueError, KeyError):
                pass
            if self.shell is not None:
                try:
                    self.shell.events.unregister("post_run_cell", self._post_run_cell)
                except ValueError:
                    pass
        if close_widgets:
            self._close_widgets()

    def _close_widgets(self) -> None:
        for child in (self.widget, *self._all_children(self.widget)):
            child.close()

    def _all_children(self, box) -> list:
        found = []
        for child in getattr(box, "children", ()):
            found.append(child)
            found.extend(self._all_children(child))
        return found

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        if self.png:
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        bundle["text/plain"] = formatting.text_table(self.frame, self.metric)
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
    if not has_widget_frontend(shell):
        frame = metrics.add_derived_columns(session.to_frame())
        print(formatting.text_table(frame))
        return None
    from IPython.display import display

    panel = CarbonPanel(session, shell)
    display(panel)
    return panel
