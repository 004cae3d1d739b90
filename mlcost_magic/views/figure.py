"""The four-panel trade-off figure: pure DataFrame -> ``matplotlib.figure.Figure``.

Modelled on CodeCarbon's "Comparing Model Efficiency" tutorial (CO2 per run, accuracy vs CO2,
training time vs CO2, CO2 per accuracy point), with these differences:

* runs sharing a label are one bar / one marker at the mean, with the standard deviation as
  error bars; individual runs stay visible as small dots in the scatters (one dot per run);
* the accuracy-vs-CO2 panel draws the Pareto front over the label means and rings the best
  trade-off (lowest CO2 per metric point, see :func:`compare.tradeoffs.best_tradeoff`);
* axes carry readable units chosen for the data (mg / g / kg, s / min / h);
* lower-is-better metrics (rmse, loss, ...) are plotted with the axis inverted, so better is
  always to the right, and "CO2 per point" uses ``1/metric`` (see ``compare.tradeoffs``);
* a comparison priced at another location says so under the title (``mark_what_if``).

Never touches pyplot (no global figure registry, nothing shown twice, nothing leaked); user text
(labels, metric names) is drawn with mathtext parsing off, so ``$x$`` shows literally. At most
``max_labels`` labels get bars and annotations (the most recent ones), which keeps a 1,000-run
ledger readable and fast to draw.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from .. import units
from ..compare import tradeoffs
from ..compare.comparison import Comparison
from .table import basis_line

__all__ = ["figure_to_png_bytes", "mark_what_if", "plot_tradeoffs"]

FIGURE_SIZE_IN = (11.0, 7.5)
RUN_DOT_SIZE = 14
MEAN_MARKER_SIZE = 9
BEST_COLOUR = "#1a9850"
SUBPLOT_MARGINS = {
    "left": 0.07,
    "right": 0.985,
    "top": 0.91,
    "bottom": 0.14,
    "hspace": 0.62,
    "wspace": 0.2,
}
MAX_LABEL_CHARS = 20


def short(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    """A label cut to ``limit`` characters with an ellipsis, for ticks and annotations."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


PARETO_COLOUR = "#444444"
WHAT_IF_COLOUR = "#b35806"


def _typical(values: pd.Series | np.ndarray) -> float:
    array = np.abs(np.asarray(values, dtype=float))
    array = array[np.isfinite(array) & (array > 0)]
    return float(np.median(array)) if len(array) else 0.0


def _title(ax, text: str) -> None:
    # An explicit y skips matplotlib's automatic title placement, a third of the drawing time.
    ax.set_title(text, y=1.0, pad=6, fontsize=11, parse_math=False)


def _message(ax, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="#777777",
        wrap=True,
        parse_math=False,
        gid="message",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _error(values: pd.Series) -> np.ndarray | None:
    array = values.to_numpy(dtype=float, na_value=np.nan)
    return None if not np.isfinite(array).any() else np.nan_to_num(array)


def _bars(ax, labels, heights, errors, colours, ylabel: str, title: str) -> None:
    positions = np.arange(len(labels))
    ax.bar(positions, heights, color=colours, edgecolor="#333333", linewidth=0.5, gid="bars")
    if errors is not None:
        ax.errorbar(positions, heights, yerr=errors, fmt="none", ecolor="#222222", capsize=3)
    ax.set_xticks(
        positions,
        [short(label) for label in labels],
        rotation=35,
        ha="right",
        fontsize=8,
        parse_math=False,
    )
    ax.set_ylabel(ylabel, parse_math=False)
    _title(ax, title)


def _annotate(ax, labels, xs, ys, inverted: bool = False) -> None:
    """Label points; those in the right half of the data get their label on their left."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    finite = xs[np.isfinite(xs)]
    middle = (finite.min() + finite.max()) / 2 if len(finite) else 0.0
    for label, x, y in zip(labels, xs, ys, strict=True):
        if np.isfinite(x) and np.isfinite(y):
            left = (x > middle) != inverted
            ax.annotate(
                short(label),
                (x, y),
                xytext=(-6 if left else 6, 6),
                textcoords="offset points",
                ha="right" if left else "left",
                fontsize=8,
                parse_math=False,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "#ffffcc", "alpha": 0.6, "lw": 0},
            )


def plot_tradeoffs(comparison: Comparison, max_labels: int = 25):
    """The four-panel trade-off figure of a comparison (see the module docstring).

    Returns a ``matplotlib.figure.Figure`` not registered with pyplot: display it, save it with
    ``fig.savefig`` or :func:`figure_to_png_bytes`.
    """
    import seaborn as sns
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    frame, metric, lower_is_better = comparison.frame, comparison.metric, comparison.lower_is_better
    finished, ok = comparison.finished, comparison.ok

    with sns.axes_style("whitegrid"):
        # Fixed margins (labels are shortened to fit): constrained layout would double the
        # drawing time.
        fig = Figure(figsize=FIGURE_SIZE_IN)
        fig.subplots_adjust(**SUBPLOT_MARGINS)
        axes = fig.subplots(2, 2)
    title = "Model efficiency comparison"
    fig.suptitle(title, fontsize=13, fontweight="bold")
    if mark_what_if(fig, comparison, y=0.948):
        fig.subplots_adjust(top=SUBPLOT_MARGINS["top"] - 0.025)
    fig.text(0.5, 0.005, basis_line(frame), ha="center", va="bottom", fontsize=7,
             color="#555555", parse_math=False)  # fmt: skip
    ax_co2, ax_quality, ax_time, ax_per_point = axes.ravel()
    _title(ax_co2, "CO2 per run")
    _title(ax_quality, f"{metric or 'Quality'} vs CO2")
    _title(ax_time, "Run time vs CO2")
    _title(ax_per_point, "CO2 per metric point (lower is better)")
    for ax in axes.ravel():
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))

    if finished.empty:
        for ax in axes.ravel():
            _message(ax, "No finished runs yet:\nrun a %%carbon cell or a track() block.")
        return fig

    groups = comparison.groups
    shown = groups.iloc[-max_labels:]
    palette = dict(
        zip(groups["label"], sns.color_palette("husl", max(len(groups), 1)), strict=False)
    )
    colours = [palette[label] for label in shown["label"]]
    mass_factor, mass_suffix = units.mass_scale(_typical(finished["emissions_kg"]))
    note = (
        f" ({len(shown)} most recent of {len(groups)} labels)" if len(groups) > len(shown) else ""
    )

    _bars(
        ax_co2,
        shown["label"],
        shown["emissions_kg"] / mass_factor,
        None if (err := _error(shown["emissions_kg_std"])) is None else err / mass_factor,
        colours,
        f"CO2 ({mass_suffix})",
        f"CO2 per run, mean ± sd{note}",
    )

    # Axis units switch only at twice the unit (2 s, not 1 s), so ticks stay readable.
    seconds_factor, seconds_suffix = units.duration_scale(_typical(finished["duration_s"]) / 2)
    run_colours = [
        palette.get(label, "#999999") for label in finished["label"].astype("string").fillna("")
    ]
    ax_time.scatter(
        finished["duration_s"] / seconds_factor,
        finished["emissions_kg"] / mass_factor,
        s=RUN_DOT_SIZE,
        c=run_colours,
        alpha=0.6,
        edgecolors="none",
        gid="runs",
    )
    _means(ax_time, shown, "duration_s", seconds_factor, mass_factor, colours)
    _annotate(
        ax_time,
        shown["label"],
        shown["duration_s"] / seconds_factor,
        shown["emissions_kg"] / mass_factor,
    )
    ax_time.margins(x=0.15, y=0.12)  # room for the annotations at the edges
    ax_time.set_xlabel(f"run time ({seconds_suffix})")
    ax_time.set_ylabel(f"CO2 ({mass_suffix})")

    if not comparison.has_metric_values:
        message = "No quality metric logged yet." if metric is None else f"No run logged {metric}."
        _message(ax_quality, message)
        _message(ax_per_point, message)
        return fig

    ok_groups = comparison.ok_groups
    _quality_panel(
        ax_quality, ok, ok_groups, metric, lower_is_better, palette, mass_factor, mass_suffix
    )
    shown_ok = ok_groups.iloc[-max_labels:]
    per_point = comparison.per_point_column
    per_point_factor, per_point_suffix = units.mass_scale(_typical(shown_ok[per_point]))
    best = shown_ok[per_point].idxmin() if shown_ok[per_point].notna().any() else None
    per_point_colours = [
        BEST_COLOUR if index == best else palette[label]
        for index, label in zip(shown_ok.index, shown_ok["label"], strict=True)
    ]
    err = _error(shown_ok[f"{per_point}_std"])
    quality = comparison.quality
    _bars(
        ax_per_point,
        shown_ok["label"],
        shown_ok[per_point] / per_point_factor,
        None if err is None else err / per_point_factor,
        per_point_colours,
        f"CO2 per {quality} point ({per_point_suffix})",
        f"CO2 per {quality} point (lower is better)",
    )
    return fig


def _means(ax, groups: pd.DataFrame, x: str, x_factor: float, y_factor: float, colours) -> None:
    """Label means as larger markers with sd error bars where a label has repeated runs."""
    ax.scatter(
        groups[x] / x_factor,
        groups["emissions_kg"] / y_factor,
        s=MEAN_MARKER_SIZE**2,
        c=colours,
        edgecolors="black",
        linewidths=1,
        zorder=3,
        gid="label-means",
    )
    repeated = groups[groups["runs"] > 1]
    if len(repeated):
        ax.errorbar(
            repeated[x] / x_factor,
            repeated["emissions_kg"] / y_factor,
            xerr=np.nan_to_num(repeated[f"{x}_std"].to_numpy(dtype=float)) / x_factor,
            yerr=np.nan_to_num(repeated["emissions_kg_std"].to_numpy(dtype=float)) / y_factor,
            fmt="none",
            ecolor="#333333",
            elinewidth=1,
            capsize=3,
            zorder=2,
            gid="spread",
        )


def _quality_panel(
    ax, ok, groups, metric, lower_is_better, palette, mass_factor, mass_suffix
) -> None:
    ax.scatter(
        ok[metric],
        ok["emissions_kg"] / mass_factor,
        s=RUN_DOT_SIZE,
        c=[palette.get(label, "#999999") for label in ok["label"].astype("string").fillna("")],
        alpha=0.6,
        edgecolors="none",
        gid="runs",
    )
    colours = [palette[label] for label in groups["label"]]
    _means(ax, groups, metric, 1.0, mass_factor, colours)
    annotated = groups.iloc[-25:]
    _annotate(
        ax,
        annotated["label"],
        annotated[metric],
        annotated["emissions_kg"] / mass_factor,
        inverted=lower_is_better,
    )

    front = tradeoffs.pareto_front(groups, metric, lower_is_better)
    front_points = groups[front.to_numpy()].sort_values("emissions_kg")
    if len(front_points) > 1:
        ax.plot(
            front_points[metric],
            front_points["emissions_kg"] / mass_factor,
            color=PARETO_COLOUR,
            linestyle="--",
            linewidth=1.2,
            zorder=1,
            label="Pareto front",
            gid="pareto",
        )
    best = tradeoffs.best_tradeoff(groups, metric, lower_is_better)
    if best is not None:
        row = groups.loc[best]
        ax.scatter(
            [row[metric]],
            [row["emissions_kg"] / mass_factor],
            s=(MEAN_MARKER_SIZE * 2.2) ** 2,
            facecolors="none",
            edgecolors=BEST_COLOUR,
            linewidths=2.5,
            zorder=4,
            label=f"best trade-off: {row['label']}",
            gid="best",
        )
    if len(front_points) > 1 or best is not None:
        legend = ax.legend(loc="best", fontsize=8, framealpha=0.8, markerscale=0.5)
        for text in legend.get_texts():
            text.set_parse_math(False)
    ax.margins(x=0.15, y=0.12)
    direction = "lower is better" if lower_is_better else "higher is better"
    ax.set_xlabel(f"{metric} ({direction}; better to the right)", parse_math=False)
    ax.set_ylabel(f"CO2 ({mass_suffix})")
    if lower_is_better:
        ax.invert_xaxis()


def mark_what_if(fig, comparison: Comparison, y: float) -> bool:
    """Under the title of a re-priced comparison's figure, its what-if caption (True if so)."""
    if not comparison.what_if:
        return False
    fig.text(0.5, y, comparison.what_if, ha="center", va="top", fontsize=9, fontweight="bold",
             color=WHAT_IF_COLOUR, parse_math=False, gid="what-if")  # fmt: skip
    return True


def figure_to_png_bytes(fig, dpi: int = 72) -> bytes:
    """PNG bytes of a figure, rendered with Agg whatever the pyplot backend is."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
