"""The hardware comparison figure: per label, one bar per host for mean duration, energy and
mean power (with their sd), from ``compare.hosts.host_comparison``. Pure matplotlib Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import units
from .figure import FIGURE_SIZE_IN, _message, _title, short

MAX_LABELS = 8


def plot_hosts(hosts: pd.DataFrame, max_labels: int = MAX_LABELS):
    """Three panels: duration, energy and mean power per host, grouped by label."""
    import seaborn as sns
    from matplotlib.figure import Figure

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(FIGURE_SIZE_IN[0], 4.2))
        fig.subplots_adjust(left=0.07, right=0.985, top=0.80, bottom=0.30, wspace=0.28)
        axes = fig.subplots(1, 3)
    fig.suptitle("The same runs on different machines", fontsize=13, fontweight="bold")
    fig.text(
        0.5,
        0.01,
        "Measured runs (status ok); mean ± sd per host; mean power = energy / duration. "
        "Labels run on two hosts or more.",
        ha="center",
        va="bottom",
        fontsize=7,
        color="#555555",
        parse_math=False,
    )
    if hosts.empty:
        for ax in axes:
            _message(ax, "No label has runs on two hosts yet.")
        return fig
    labels = list(dict.fromkeys(hosts["label"]))[-max_labels:]
    shown = hosts[hosts["label"].isin(labels)]
    host_names = list(dict.fromkeys(shown["hostname"]))
    palette = dict(zip(host_names, sns.color_palette("Set2", len(host_names)), strict=True))
    seconds_factor, seconds_suffix = units.duration_scale(float(shown["duration_s"].median()))
    energy_factor, energy_suffix = units.energy_scale(float(shown["energy_kwh"].median()))
    panels = (
        ("duration_s", seconds_factor, f"duration ({seconds_suffix})", "Run time"),
        ("energy_kwh", energy_factor, f"energy ({energy_suffix})", "Energy per run"),
        ("mean_power_w", 1.0, "mean power (W)", "Mean power"),
    )
    width = 0.8 / max(len(host_names), 1)
    for ax, (column, factor, ylabel, title) in zip(axes, panels, strict=True):
        for index, host in enumerate(host_names):
            mine = shown[shown["hostname"] == host].set_index("label").reindex(labels)
            xs = np.arange(len(labels)) + (index - (len(host_names) - 1) / 2) * width
            errors = (mine[f"{column}_std"] / factor).to_numpy(float)
            ax.bar(
                xs,
                (mine[column] / factor).to_numpy(float),
                width=width,
                yerr=np.where(np.isfinite(errors), errors, 0.0),
                color=palette[host],
                label=short(str(host)),
                capsize=2,
            )
        ax.set_xticks(np.arange(len(labels)))
        ax.set_xticklabels([short(str(label)) for label in labels], rotation=30, ha="right",
                           fontsize=8, parse_math=False)  # fmt: skip
        ax.set_ylabel(ylabel, parse_math=False)
        _title(ax, title)
    legend = axes[2].legend(title="host", fontsize=7, title_fontsize=8, loc="best")
    for text in legend.get_texts():
        text.set_parse_math(False)
    return fig
