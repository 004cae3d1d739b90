"""Repeated runs of one label, aggregated: mean, sample standard deviation and count."""

from __future__ import annotations

import pandas as pd


def aggregate_by_label(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per label (first-seen order): ``<column>`` mean, ``<column>_std`` (ddof 1, NaN
    for a single run) and ``runs``, for each of ``columns`` present in ``frame``."""
    columns = [c for c in dict.fromkeys(columns) if c in frame.columns]
    values = frame[["label", *columns]].copy()
    values["label"] = values["label"].astype("string").fillna("")
    for column in columns:
        values[column] = pd.to_numeric(values[column], errors="coerce").astype(float)
    grouped = values.groupby("label", sort=False)
    means = grouped[columns].mean()
    stds = grouped[columns].std(ddof=1).add_suffix("_std")
    counts = grouped.size().rename("runs")
    result = pd.concat([means, stds, counts], axis=1)
    result.index.name = "label"
    return result.reset_index()
