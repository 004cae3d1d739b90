"""A ledger run as an MLflow run, and an MLflow run back as a ledger row.

Metrics: every numeric figure of the row, the user's metrics and the per-1,000-inference
figures. Params: the machine, the user, the method and every constant the figures were made
under. Tags: the user's tags, and ours under ``mlcost.`` (``mlcost.run_id`` makes logging
idempotent). Reading back gives the same columns as the ledger plus ``user``.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from ..compare.names import INFERENCE_COLUMNS
from ..store.schema import FRAME_COLUMNS

METRICS = (
    "duration_s",
    "cpu_seconds",
    "ram_gb",
    "energy_kwh",
    "cpu_energy_kwh",
    "ram_energy_kwh",
    "gpu_energy_kwh",
    "static_energy_kwh",
    "emissions_kg",
    "carbon_intensity_g_per_kwh",
    "inferences",
    "model_size",
)
PER_1K_INFERENCES = dict(zip(INFERENCE_COLUMNS, ("energy_kwh", "emissions_kg"), strict=True))
# Ledger column -> MLflow param name (the versions are named for what they version).
PARAMS = {
    "hostname": "hostname",
    "user": "user",
    "cpu_model": "cpu_model",
    "cpu_count": "cpu_count",
    "gpu_model": "gpu_model",
    "method": "method",
    "country_iso_code": "country_iso_code",
    "country_name": "country_name",
    "intensity_source": "intensity_source",
    "pue": "pue",
    "cpu_power_w_per_thread": "cpu_power_w_per_thread",
    "ram_power_w_per_gb": "ram_power_w_per_gb",
    "static_power_w": "static_power_w",
    "threads": "threads",
    "session_id": "session_id",
    "mlcost_version": "mlcost_magic_version",
    "codecarbon_version": "codecarbon_version",
}
OUR_TAGS = (
    "run_id",
    "kind",
    "status",
    "quality",
    "quality_reason",
    "group_id",
    "repeat",
    "parent_run_id",
    "error",
)
TAG_PREFIX = "mlcost."
RUN_ID_TAG = "mlcost.run_id"
MLFLOW_STATUS = {"ok": "FINISHED", "error": "FAILED"}  # interrupted, capped, lost: KILLED
INTEGER_COLUMNS = frozenset({"cpu_count", "threads", "repeat", "inferences", "model_size"})
FLOAT_PARAMS = frozenset({"pue", "cpu_power_w_per_thread", "ram_power_w_per_gb", "static_power_w"})
MAX_VALUE_CHARS = 5000  # below MLflow's param (6,000) and tag (8,000) limits


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _iso(ms: Any) -> str | None:
    if ms in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(ms) / 1000, timezone.utc).isoformat(timespec="microseconds")


def _text(value: Any) -> str:
    return str(value)[:MAX_VALUE_CHARS]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mlflow_status(status: str | None) -> str:
    return MLFLOW_STATUS.get(status or "", "KILLED")


def create_body(row: dict[str, Any], experiment_id: str, parent_run_id: str | None) -> dict:
    """The runs/create request: name, start time and every tag (ours, the user's, nesting)."""
    tags = {f"{TAG_PREFIX}{name}": _text(row[name]) for name in OUR_TAGS if row.get(name)}
    tags.update({_text(k): _text(v) for k, v in (row.get("tags") or {}).items()})
    tags["mlflow.runName"] = _text(row["label"])
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    body = {
        "experiment_id": experiment_id,
        "run_name": _text(row["label"]),
        "start_time": _ms(row["started_at"]),
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
    return body


def batch_body(mlflow_run_id: str, row: dict[str, Any]) -> dict:
    """The runs/log-batch request: metrics (finite numbers only) and params."""
    stamp = _ms(row.get("ended_at") or row["started_at"])
    metrics = {name: row.get(name) for name in METRICS}
    metrics.update(row.get("metrics") or {})
    inferences = row.get("inferences")
    if inferences:
        for name, column in PER_1K_INFERENCES.items():
            if _finite(row.get(column)):
                metrics[name] = row[column] / inferences * 1000
    params = {
        param: _text(row[column])
        for column, param in PARAMS.items()
        if row.get(column) is not None and row.get(column) != ""
    }
    return {
        "run_id": mlflow_run_id,
        "metrics": [
            {"key": k, "value": float(v), "timestamp": stamp, "step": 0}
            for k, v in metrics.items()
            if _finite(v)
        ],
        "params": [{"key": k, "value": v} for k, v in params.items()],
    }


def update_body(mlflow_run_id: str, row: dict[str, Any]) -> dict:
    body = {"run_id": mlflow_run_id, "status": mlflow_status(row.get("status"))}
    end = _ms(row.get("ended_at"))
    if end is not None:
        body["end_time"] = end
    return body


def _typed(column: str, text: str | None) -> Any:
    if text is None or text == "":
        return None
    if column in INTEGER_COLUMNS:
        return int(float(text))
    if column in FLOAT_PARAMS:
        return float(text)
    return text


def from_mlflow(run: dict) -> dict[str, Any] | None:
    """A ledger row (FRAME_COLUMNS, 'user', 'metrics' as a dict) from a runs/search result;
    None for a run that mlcost-magic did not log."""
    info, data = run.get("info", {}), run.get("data", {})
    tags = {t["key"]: t.get("value") for t in data.get("tags", [])}
    if RUN_ID_TAG not in tags:
        return None
    params = {p["key"]: p.get("value") for p in data.get("params", [])}
    metrics = {m["key"]: m.get("value") for m in data.get("metrics", [])}
    row: dict[str, Any] = dict.fromkeys(FRAME_COLUMNS)
    for name in OUR_TAGS:
        row[name] = _typed(name, tags.get(f"{TAG_PREFIX}{name}"))
    for column, param in PARAMS.items():
        row[column] = _typed(column, params.get(param))
    for name in METRICS:
        value = metrics.pop(name, None)
        row[name] = None if value is None else float(value)
    for name in ("inferences", "model_size"):
        if row[name] is not None:
            row[name] = int(row[name])
    for name in INFERENCE_COLUMNS:  # derived again by compare, from energy and inferences
        metrics.pop(name, None)
    row["label"] = info.get("run_name") or tags.get("mlflow.runName")
    row["started_at"], row["ended_at"] = _iso(info.get("start_time")), _iso(info.get("end_time"))
    row["tags"] = {
        k: v for k, v in tags.items() if not k.startswith(("mlflow.", TAG_PREFIX)) and v is not None
    }
    row["metrics"] = {k: float(v) for k, v in metrics.items() if v is not None}
    return row
