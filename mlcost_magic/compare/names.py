"""The names of the derived columns, in one place and without pandas (``run.py`` refuses a
metric so named at every ``log_metric``, and must stay cheap to import)."""

from __future__ import annotations

import re

INFERENCE_COLUMNS = ("energy_kwh_per_1k_inferences", "emissions_kg_per_1k_inferences")
_PER_POINT = re.compile(r"^emissions_kg_per_.+_point$")
_PER_GRAM = re.compile(r"^.+_per_g_co2$")
_NOT_IDENTIFIER = re.compile(r"\W+")


def quality_name(metric: str, lower_is_better: bool) -> str:
    """What the quality columns divide by, as shown: 'accuracy', or '1/rmse'."""
    return f"1/{metric}" if lower_is_better else metric


def _slug(metric: str, lower_is_better: bool) -> str:
    slug = _NOT_IDENTIFIER.sub("_", metric).strip("_") or "metric"
    return f"inv_{slug}" if lower_is_better else slug


def per_point_column(metric: str, lower_is_better: bool) -> str:
    """'emissions_kg_per_accuracy_point' (CO2 per point of the metric; lower is better)."""
    return f"emissions_kg_per_{_slug(metric, lower_is_better)}_point"


def per_gram_column(metric: str, lower_is_better: bool) -> str:
    """'accuracy_per_g_co2' (metric per gram of CO2; higher is better)."""
    return f"{_slug(metric, lower_is_better)}_per_g_co2"


def is_derived_column(name: str) -> bool:
    """A column compare.tradeoffs adds (so it is never taken for a user metric)."""
    return name in INFERENCE_COLUMNS or bool(_PER_POINT.match(name) or _PER_GRAM.match(name))
