"""Quality against CO2 with bubble areas proportional to model size, as mlflow-emissions-sdk drew
it: pure ``Comparison`` -> ``matplotlib.figure.Figure``.

One bubble per label: the mean CO2 (x) and metric (y) of its 'ok' runs that recorded a model
size (``%%carbon --size``, ``run.log_size``), its area the mean size. Matplotlib's scatter
``s`` is an area in points², so ``s = size / largest size x MAX_BUBBLE_AREA_PT2``: a model
twice as big has twice the area, and a legend shows reference sizes on the same scale. A
lower-is-better metric has its axis inverted, so better is always up. A re-priced comparison
says so under the title. Never touches pyplot; user text is drawn with mathtext off.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import units
from ..compare.comparison import Comparison
from .figure import _typical, figure_to_png_bytes, mark_what_if, short
from .table import basis_line

__all__ = ["bubble_png", "check_bubbles", "plot_bubbles", "sized_groups"]

MAX_BUBBLE_AREA_PT2 = 3000.0  # the largest model's bubble, in points² (about 62 pt across)
FIGURE_SIZE_IN = (9.0, 6.0)
SIZE_COLUMN = "model_size"


def sized_groups(comparison: Comparison) -> pd.DataFrame:
    """Per label (first-seen order), over its 'ok' runs with a finite metric, CO2 and size: the
    means of the metric, ``emissions_kg`` and ``model_size``, and ``runs``."""
    ok, metric = comparison.ok, comparison.metric
    columns = ["label", "emissions_kg", SIZE_COLUMN, *([metric] if metric else [])]
    if metric is None or SIZE_COLUMN not in ok.columns or ok.empty:
        return pd.DataFrame(columns=[*columns, "runs"])
    values = ok[columns].copy()
    for column in columns[1:]:
        values[column] = pd.to_numeric(values[column], errors="coerce").astype(float)
    values = values[np.isfinite(values[columns[1:]].to_numpy(float)).all(axis=1)]
    grouped = values.groupby("label", sort=False)
    groups = grouped[columns[1:]].mean()
    groups["runs"] = grouped.size()
    return groups.reset_index()


def check_bubbles(comparison: Comparison) -> str | None:
    """Why these runs cannot be drawn as bubbles, in one line; None when they can."""
    frame = comparison.frame
    sizes = frame[SIZE_COLUMN] if SIZE_COLUMN in frame.columns else pd.Series(dtype=float)
    if not sizes.notna().any():
        return "no run has a model size: record one with %%carbon --size EXPR or run.log_size(n)"
    if comparison.metric is None:
        return "no run logged a metric to place the bubbles by: add --metric NAME=EXPR"
    if sized_groups(comparison).empty:
        return f"no finished run has both a model size and {comparison.metric}"
    return None


def plot_bubbles(comparison: Comparison, max_labels: int = 25):
    """The bubble chart (see the module docstring) of at most ``max_labels`` labels (the most
    recent). Raises ValueError, in one line (:func:`check_bubbles`), when it cannot be drawn."""
    import seaborn as sns
    from matplotlib.figure import Figure

    reason = check_bubbles(comparison)
    if reason is not None:
        raise ValueError(reason)
    metric, lower_is_better = comparison.metric, comparison.lower_is_better
    groups = sized_groups(comparison)
    shown = groups.iloc[-max_labels:]
    mass_factor, mass_suffix = units.mass_scale(_typical(shown["emissions_kg"]))
    largest = float(shown[SIZE_COLUMN].max())

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=FIGURE_SIZE_IN)
        fig.subplots_adjust(left=0.1, right=0.78, top=0.86, bottom=0.14)
        ax = fig.subplots()
    fig.suptitle(f"{metric} vs CO2, bubble area proportional to model size", fontsize=13,
                 fontweight="bold", parse_math=False)  # fmt: skip
    mark_what_if(fig, comparison, y=0.935)
    fig.text(0.5, 0.005, basis_line(comparison.frame), ha="center", va="bottom", fontsize=7,
             color="#555555", parse_math=False)  # fmt: skip
    colours = sns.color_palette("husl", max(len(groups), 1))[-len(shown) :]
    xs = shown["emissions_kg"].to_numpy(float) / mass_factor
    ys = shown[metric].to_numpy(float)
    ax.scatter(xs, ys, s=bubble_areas_pt2(shown[SIZE_COLUMN], largest), c=colours, alpha=0.5,
               edgecolors="#333333", linewidths=0.8, zorder=3, gid="bubbles")  # fmt: skip
    for label, size, x, y in zip(shown["label"], shown[SIZE_COLUMN], xs, ys, strict=True):
        ax.annotate(f"{short(str(label))}\n{size:,.0f}", (x, y), ha="center", va="center",
                    fontsize=8, parse_math=False, zorder=4, gid="bubble-label")  # fmt: skip
    _size_legend(ax, largest)
    ax.margins(x=0.25, y=0.25)  # the largest bubbles stay inside the axes
    ax.set_xlabel(f"CO2 per run, mean ({mass_suffix})")
    direction = "lower is better: up is better" if lower_is_better else "higher is better"
    ax.set_ylabel(f"{metric} ({direction})", parse_math=False)
    if lower_is_better:
        ax.invert_yaxis()
    if len(groups) > len(shown):
        ax.set_title(f"the {len(shown)} most recent of {len(groups)} labels", fontsize=8)
    return fig


def bubble_areas_pt2(sizes, largest: float) -> np.ndarray:
    """Scatter areas (points²) proportional to ``sizes``; the largest gets MAX_BUBBLE_AREA_PT2."""
    sizes = np.asarray(sizes, dtype=float)
    if not largest > 0:
        return np.zeros_like(sizes)
    return sizes / largest * MAX_BUBBLE_AREA_PT2


def _size_legend(ax, largest: float) -> None:
    """Reference bubbles on the chart's own scale: the largest size, about a quarter and a
    twentieth of it (rounded to one significant digit)."""
    if not largest > 0:
        return
    references = [largest]
    for fraction in (4, 20):
        rough = largest / fraction
        if rough >= 1:
            magnitude = 10 ** math.floor(math.log10(rough))
            references.append(round(rough / magnitude) * magnitude)
    for size in dict.fromkeys(references):
        ax.scatter([], [], s=bubble_areas_pt2([size], largest), color="#bbbbbb", alpha=0.5,
                   edgecolors="#333333", label=f"{size:,.0f}")  # fmt: skip
    legend = ax.legend(title="model size\n(numbers stored)", loc="upper left",
                       bbox_to_anchor=(1.02, 1.0), frameon=False, labelspacing=2.2,
                       borderpad=1.2, fontsize=8, title_fontsize=8)  # fmt: skip
    for text in legend.get_texts():
        text.set_parse_math(False)


def bubble_png(comparison: Comparison, dpi: int = 72) -> bytes:
    """PNG bytes of the bubble chart, or b'' when these runs have none (the panel's use)."""
    if check_bubbles(comparison) is not None:
        return b""
    return figure_to_png_bytes(plot_bubbles(comparison), dpi)
