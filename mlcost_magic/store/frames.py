"""A frame of runs, typed the same way wherever the rows come from (the ledger, MLflow)."""

from __future__ import annotations

import json
from collections.abc import Sequence


def runs_frame(records: Sequence[Sequence], columns: Sequence[str], metric_names: Sequence[str]):
    """Rows (one tuple per run: ``columns`` then one value per metric) as a DataFrame: tags as
    dicts (from JSON text or dicts), times as UTC timestamps, inferences as Int64, metrics as
    floats."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(records), columns=list(columns) + list(metric_names))
    decoded: dict[str, dict] = {}

    def tags_of(value) -> dict:
        if isinstance(value, dict):
            return dict(value)
        if not value:
            return {}
        return dict(decoded.get(value) or decoded.setdefault(value, json.loads(value)))

    frame["tags"] = [tags_of(t) for t in frame["tags"]]
    for column in ("started_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    for column in ("inferences", "model_size"):  # counts; missing ones stay <NA>
        frame[column] = frame[column].astype("Int64")
    for name in metric_names:
        frame[name] = frame[name].astype(float)
    return frame
