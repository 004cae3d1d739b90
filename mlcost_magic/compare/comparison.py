"""One analysis of a set of runs, computed once per refresh and handed to every view.

``compare(rows)`` takes the store's rows, adds the derived trade-off columns for the chosen
metric and finds the best trade-off; the label aggregates are computed on first use and then
shared, so the table, the figure and the report never repeat the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from . import tradeoffs
from .aggregate import aggregate_by_label
from .pricing import reprice
from .whatif import Location, resolve_location


@dataclass(frozen=True)
class Comparison:
    """Runs with their derived columns and the metric they are judged by; the table rows and
    their best trade-off are derived on first use."""

    frame: pd.DataFrame
    metric: str | None
    lower_is_better: bool
    priced_at: Location | None = None  # a what-if: CO2 at this location, energy as measured

    @property
    def what_if(self) -> str | None:
        """The caption every view of a re-priced comparison shows (None: as measured)."""
        return None if self.priced_at is None else self.priced_at.caption()

    @property
    def metrics(self) -> list[str]:
        """Every metric column of these runs (the one judged by is :attr:`metric`)."""
        return tradeoffs.metric_columns(self.frame)

    @property
    def quality(self) -> str | None:
        """What the quality columns divide by, as shown: 'accuracy' or '1/rmse'."""
        if self.metric is None:
            return None
        return tradeoffs.quality_name(self.metric, self.lower_is_better)

    @property
    def per_point_column(self) -> str | None:
        if self.metric is None:
            return None
        return tradeoffs.per_point_column(self.metric, self.lower_is_better)

    @property
    def per_gram_column(self) -> str | None:
        if self.metric is None:
            return None
        return tradeoffs.per_gram_column(self.metric, self.lower_is_better)

    @cached_property
    def finished(self) -> pd.DataFrame:
        """Runs that have ended (any status but 'running')."""
        if "status" not in self.frame.columns:
            return self.frame
        return self.frame[(self.frame["status"] != "running").fillna(True).to_numpy(bool)]

    @cached_property
    def ok(self) -> pd.DataFrame:
        """Runs that ended normally: the only ones that compete for the best trade-off."""
        finished = self.finished
        if "status" not in finished.columns or finished.empty:
            return finished
        return finished[(finished["status"] == "ok").fillna(False).to_numpy(bool)]

    @cached_property
    def groups(self) -> pd.DataFrame:
        """Finished runs per label: mean, sd and count of CO2, duration, metric, CO2 per point."""
        return aggregate_by_label(self.finished, self._aggregated_columns())

    @cached_property
    def ok_groups(self) -> pd.DataFrame:
        """'ok' runs per label, only labels with a finite metric mean (empty without metric)."""
        if self.metric is None:
            return self.groups.iloc[0:0]
        groups = aggregate_by_label(self.ok, self._aggregated_columns())
        values = pd.to_numeric(groups[self.metric], errors="coerce").to_numpy(float)
        return groups[np.isfinite(values)]

    @cached_property
    def table_rows(self) -> pd.DataFrame:
        """The runs as a table shows them: the repeats of one group collapsed into one row
        (numbers: mean; status: the first that is not ok; quality: the least trustworthy),
        with ``n`` and the CO2 standard deviation ``emissions_kg_sd``."""
        return collapse_groups(self.frame)

    @cached_property
    def table_best(self) -> Any:
        """Index label in :attr:`table_rows` of the best trade-off row, or None."""
        if self.metric is None or self.table_rows.empty:
            return None
        return tradeoffs.best_tradeoff(self.table_rows, self.metric, self.lower_is_better)

    @property
    def has_metric_values(self) -> bool:
        return len(self.ok_groups) > 0

    def _aggregated_columns(self) -> list[str]:
        columns = ["emissions_kg", "duration_s", "energy_kwh"]
        if self.metric is not None:
            columns += [self.metric, self.per_point_column]
        return columns


QUALITY_RANK = {"short": 0, "busy machine": 1, "noisy": 2, "estimate": 3, "ok": 4}


def collapse_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per group of repeats (see :attr:`Comparison.table_rows`); others unchanged."""
    rows = frame.copy(deep=False)
    rows["n"] = 1
    rows["emissions_kg_sd"] = np.nan
    if "group_id" not in frame.columns or not frame["group_id"].notna().any():
        return rows
    grouped = rows["group_id"].notna().to_numpy(bool)
    singles, repeats = rows[~grouped], rows[grouped]
    by = repeats.groupby("group_id", sort=False)
    numeric = [
        c
        for c, dtype in repeats.dtypes.items()
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ]
    collapsed = by.first()
    collapsed[numeric] = by[numeric].mean()
    collapsed["n"] = by.size()
    collapsed["emissions_kg_sd"] = by["emissions_kg"].std(ddof=1)
    collapsed["status"] = by["status"].agg(_worst_status)
    if "quality" in repeats.columns:
        collapsed["quality"] = by["quality"].agg(_worst_quality)
    collapsed["_first"] = by["started_at"].min()
    collapsed = collapsed.reset_index()
    singles = singles.assign(_first=singles["started_at"])
    merged = pd.concat([singles, collapsed], ignore_index=True, sort=False)
    order = merged["_first"].argsort(kind="stable")
    return merged.iloc[order].drop(columns="_first").reset_index(drop=True)


def _worst_status(statuses: pd.Series) -> str:
    return next((s for s in statuses if s != "ok"), "ok")


def _worst_quality(qualities: pd.Series) -> Any:
    known = [q for q in qualities if isinstance(q, str)]
    return min(known, key=lambda q: QUALITY_RANK.get(q, -1)) if known else None


def compare(
    rows: pd.DataFrame,
    metric: str | None = None,
    lower_is_better: bool | None = None,
    priced_at: Location | str | None = None,
) -> Comparison:
    """The comparison of ``rows`` (a ledger frame) judged by ``metric`` (default: 'accuracy',
    else the first metric logged); with ``priced_at`` (a location: 'POL', 'world',
    'gcp:europe-west1'), the rows re-priced there first (:func:`pricing.reprice`). Raises
    ValueError for a metric no run logged or an unknown location."""
    if priced_at is not None:
        if not isinstance(priced_at, Location):
            priced_at = resolve_location(priced_at)
        rows = reprice(rows, priced_at)
    metric = tradeoffs.choose_metric(rows, metric)
    if metric is not None and lower_is_better is None:
        lower_is_better = tradeoffs.is_lower_better(metric)
    lower_is_better = bool(lower_is_better)
    frame = tradeoffs.add_derived_columns(rows, metric, lower_is_better)
    return Comparison(frame, metric, lower_is_better, priced_at)
