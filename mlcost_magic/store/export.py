"""Write runs to CSV (CodeCarbon's emissions.csv column names where they mean the same) or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from ..units import JOULES_PER_KWH

# ledger column -> CodeCarbon emissions.csv column (same meaning and unit: kWh, kg, s)
CODECARBON_NAMES = {
    "ended_at": "timestamp",
    "label": "project_name",
    "run_id": "run_id",
    "session_id": "experiment_id",
    "duration_s": "duration",
    "emissions_kg": "emissions",
    "cpu_energy_kwh": "cpu_energy",
    "gpu_energy_kwh": "gpu_energy",
    "ram_energy_kwh": "ram_energy",
    "energy_kwh": "energy_consumed",
    "country_name": "country_name",
    "country_iso_code": "country_iso_code",
    "cpu_count": "cpu_count",
    "cpu_model": "cpu_model",
    "gpu_model": "gpu_model",
    "ram_gb": "ram_used_gb",
    "pue": "pue",
}


def to_codecarbon_columns(frame):
    """CodeCarbon's columns first (with its derived rates and powers), then ours."""
    import pandas as pd

    out = frame.rename(columns=CODECARBON_NAMES)
    duration = out["duration"].where(out["duration"] > 0)
    derived = pd.DataFrame(
        {
            "emissions_rate": out["emissions"] / duration,  # kg/s, as CodeCarbon
            "cpu_power": out["cpu_energy"] * JOULES_PER_KWH / duration,  # mean W
            "gpu_power": out["gpu_energy"] * JOULES_PER_KWH / duration,
            "ram_power": out["ram_energy"] * JOULES_PER_KWH / duration,
            "tracking_mode": "process",
        },
        index=out.index,
    )
    out = pd.concat([out, derived], axis=1)
    out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat() if pd.notna(t) else "")
    out["started_at"] = out["started_at"].map(lambda t: t.isoformat() if pd.notna(t) else "")
    out["tags"] = out["tags"].map(lambda t: json.dumps(t, sort_keys=True))
    first = [c for c in CODECARBON_ORDER if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]


CODECARBON_ORDER = (
    "timestamp",
    "project_name",
    "run_id",
    "experiment_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "country_name",
    "country_iso_code",
    "cpu_count",
    "cpu_model",
    "gpu_model",
    "ram_used_gb",
    "tracking_mode",
    "pue",
)


def export_runs(frame, path: str | Path) -> Path:
    """Write `frame` (a ledger frame) to path: .csv or .json (chosen by the suffix)."""
    path = Path(path).expanduser()
    suffix = "." + path.name.rsplit(".", 1)[-1].lower() if "." in path.name else ""
    if suffix not in (".csv", ".json"):
        raise ValueError(f"export path must end in .csv or .json, got {str(path)!r}")
    if not path.parent.exists():
        raise ValueError(f"folder {str(path.parent)!r} does not exist")
    table = to_codecarbon_columns(frame)
    try:
        if suffix == ".csv":
            table.to_csv(path, index=False)
        else:
            table.to_json(path, orient="records", indent=2, default_handler=str, date_format="iso")
    except OSError as error:  # a name too long, a read-only folder, a full disk
        raise ValueError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    return path
