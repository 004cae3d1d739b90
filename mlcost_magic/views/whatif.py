"""The region what-if as a bar chart: pure ``compare.whatif.WhatIf`` -> matplotlib Figure.

Grouped bars, one group per label (the mean of its runs) and one colour per series: the CO2 as
measured, then each location (the same energy at that grid's intensity). The title says it is
a what-if; the workshop sentence sits under it and every location's source (data file and year)
at the bottom. A log axis when the bars span more than 100x. Never touches pyplot; user text
(labels, locations) is drawn with mathtext off, as in ``views.figure``.
"""

from __future__ import annotations

import numpy as np

from .. import units
from ..compare.whatif import WhatIf
from .figure import short

__all__ = ["plot_whatif"]

MEASURED_COLOUR = "#444444"
LOG_ABOVE = 100.0  # largest / smallest positive bar above which the axis is logarithmic
SOURCE_LINE_IN = 0.14  # height of one source line at the bottom, inches


def _colours(count: int) -> list:
    from matplotlib import colormaps

    if count <= 9:  # tab10 without its grey, which is the measured bars' colour
        palette = colormaps["tab10"]
        return [palette(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)[:count]]
    palette = colormaps["tab20"]
    return [palette(i % palette.N) for i in range(count)]


def plot_whatif(result: WhatIf, max_labels: int = 15):
    """The what-if bar chart of ``result`` (see the module docstring); at most ``max_labels``
    labels (the most recent). Returns a ``matplotlib.figure.Figure`` not known to pyplot."""
    from matplotlib.figure import Figure

    frame = result.frame
    sources = list(result.sources.values())
    shown = frame.iloc[-max_labels:]
    rotated = len(shown) > 4
    below_in = (0.9 if rotated else 0.5) + SOURCE_LINE_IN * (len(sources) + 1)
    height = 4.6 + below_in
    fig = Figure(figsize=(11.0, height))
    bottom = below_in / height
    fig.subplots_adjust(left=0.08, right=0.80, top=1 - 0.95 / height, bottom=bottom)
    ax = fig.subplots()
    fig.suptitle(
        "What-if: the same energy at other grids' carbon intensity (CO2 recomputed, not measured)",
        fontsize=12,
        fontweight="bold",
        y=1 - 0.12 / height,
        parse_math=False,
    )
    ax.set_title(result.sentence, fontsize=8, color="#333333", wrap=True, parse_math=False)
    fig.text(0.01, 0.01, "\n".join(["Sources:", *sources]), ha="left", va="bottom",
             fontsize=7, color="#555555", parse_math=False)  # fmt: skip
    if frame.empty:
        ax.text(0.5, 0.5, "No finished runs yet: run a %%carbon cell.", ha="center",
                va="center", transform=ax.transAxes, color="#777777", parse_math=False)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return fig

    series = [("emissions_kg", "as measured")]
    series += [
        (loc.name, f"{loc.name} ({units.format_number(loc.g_per_kwh)} g/kWh)")
        for loc in result.locations
    ]
    values = np.column_stack([shown[column].to_numpy(float) for column, _ in series])
    positive = values[np.isfinite(values) & (values > 0)]
    typical = float(np.median(positive)) if len(positive) else 0.0
    factor, suffix = units.mass_scale(typical)
    logarithmic = len(positive) > 0 and positive.max() / positive.min() > LOG_ABOVE

    positions = np.arange(len(shown))
    width = 0.8 / len(series)
    colours = [MEASURED_COLOUR, *_colours(len(series) - 1)]
    for i, ((column, name), colour) in enumerate(zip(series, colours, strict=True)):
        ax.bar(
            positions - 0.4 + width * (i + 0.5),
            values[:, i] / factor,
            width,
            color=colour,
            edgecolor="#222222",
            linewidth=0.4,
            label=name,
            gid=f"bars:{column}",
        )
    if logarithmic:
        ax.set_yscale("log")
    ax.set_xticks(
        positions,
        [short(str(label)) for label in shown["label"]],
        rotation=25 if rotated else 0,
        ha="right" if rotated else "center",
        fontsize=8,
        parse_math=False,
    )
    note = " (log scale)" if logarithmic else ""
    ax.set_ylabel(f"CO2 per run, mean ({suffix}){note}", parse_math=False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    for text in legend.get_texts():
        text.set_parse_math(False)
    if len(frame) > len(shown):
        ax.set_xlabel(f"the {len(shown)} most recent of {len(frame)} labels", fontsize=8)
    return fig
