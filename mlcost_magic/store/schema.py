"""The ledger's schema, in one place: run and session columns and the SQL that creates them.

A run row holds what was measured and every constant it was measured under (method, power
figures, PUE, carbon intensity and its source), so any figure can be traced later.
"""

from __future__ import annotations

from datetime import datetime, timezone

SCHEMA_VERSION = 1

# Run columns, in frame order. Metrics and tags are stored as JSON text.
RUN_COLUMNS = (
    "run_id",
    "session_id",
    "label",
    "kind",
    "status",
    "started_at",
    "ended_at",
    "duration_s",
    "cpu_seconds",
    "ram_gb",
    "energy_kwh",
    "cpu_energy_kwh",
    "ram_energy_kwh",
    "gpu_energy_kwh",
    "emissions_kg",
    "carbon_intensity_g_per_kwh",
    "intensity_source",
    "country_iso_code",
    "country_name",
    "pue",
    "method",
    "cpu_power_w_per_thread",
    "ram_power_w_per_gb",
    "hostname",
    "cpu_model",
    "cpu_count",
    "gpu_model",
    "inferences",
    "tags",
    "error",
    "metrics",
)
SESSION_COLUMNS = (
    "session_id",
    "started_at",
    "hostname",
    "pid",
    "pid_started_at",
    "cwd",
    "mlcost_version",
    "codecarbon_version",
)

SCHEMA_SQL = f"""
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, started_at TEXT, hostname TEXT, pid INTEGER,
    pid_started_at REAL, cwd TEXT, mlcost_version TEXT, codecarbon_version TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, session_id TEXT, label TEXT, kind TEXT, status TEXT,
    started_at TEXT, ended_at TEXT, duration_s REAL, cpu_seconds REAL, ram_gb REAL,
    energy_kwh REAL, cpu_energy_kwh REAL, ram_energy_kwh REAL, gpu_energy_kwh REAL,
    emissions_kg REAL, carbon_intensity_g_per_kwh REAL, intensity_source TEXT,
    country_iso_code TEXT, country_name TEXT, pue REAL, method TEXT,
    cpu_power_w_per_thread REAL, ram_power_w_per_gb REAL, hostname TEXT, cpu_model TEXT,
    cpu_count INTEGER, gpu_model TEXT, inferences INTEGER, tags TEXT, error TEXT, metrics TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session_id, started_at);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def utc_now() -> str:
    """The ledger's timestamp format: ISO 8601 in UTC, microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
