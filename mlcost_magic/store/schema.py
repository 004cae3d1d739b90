"""The ledger's schema, in one place: run and session columns and the SQL that creates them.

A run row holds what was measured and every constant it was measured under (method, power
figures, PUE, carbon intensity and its source), so any figure can be traced later.
"""

from __future__ import annotations

from datetime import datetime, timezone

# 2: quality(_reason), group_id, repeat, parent_run_id, static_*; 3: model_size (issue 9; an
# MLflow branch may bump it too: the merge keeps one number and the union of the columns)
SCHEMA_VERSION = 3

# Run columns, in frame order, with their SQLite types. Metrics and tags are JSON text.
RUN_COLUMN_TYPES = {
    "run_id": "TEXT PRIMARY KEY",
    "session_id": "TEXT",
    "label": "TEXT",
    "kind": "TEXT",  # training, inference, cell (auto mode)
    "status": "TEXT",  # running, ok, error, interrupted, lost
    "quality": "TEXT",  # ok, estimate, short, busy machine, noisy (see compare.quality)
    "quality_reason": "TEXT",
    "started_at": "TEXT",
    "ended_at": "TEXT",
    "duration_s": "REAL",
    "cpu_seconds": "REAL",
    "ram_gb": "REAL",
    "energy_kwh": "REAL",
    "cpu_energy_kwh": "REAL",
    "ram_energy_kwh": "REAL",
    "gpu_energy_kwh": "REAL",
    "static_energy_kwh": "REAL",  # static_power_w x wall time, before PUE (0 unless set)
    "emissions_kg": "REAL",
    "carbon_intensity_g_per_kwh": "REAL",
    "intensity_source": "TEXT",
    "country_iso_code": "TEXT",
    "country_name": "TEXT",
    "pue": "REAL",
    "method": "TEXT",
    "cpu_power_w_per_thread": "REAL",
    "ram_power_w_per_gb": "REAL",
    "static_power_w": "REAL",
    "hostname": "TEXT",
    "cpu_model": "TEXT",
    "cpu_count": "INTEGER",
    "gpu_model": "TEXT",
    "inferences": "INTEGER",
    "threads": "INTEGER",  # %%carbon --threads N (none: as many as the machine lets it use)
    "model_size": "INTEGER",  # numbers the model stores (--size, run.log_size, model_size())
    "group_id": "TEXT",  # the runs of one %%carbon --repeat / mlcost_magic.repeat()
    "repeat": "INTEGER",  # 1..N within its group
    "parent_run_id": "TEXT",  # the run this one ran inside (not counted twice in totals)
    "tags": "TEXT",
    "error": "TEXT",
    "metrics": "TEXT",
}
RUN_COLUMNS = tuple(RUN_COLUMN_TYPES)
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

_RUN_COLUMNS_SQL = ", ".join(f"{name} {kind}" for name, kind in RUN_COLUMN_TYPES.items())
CREATE_STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, started_at TEXT, "
    "hostname TEXT, pid INTEGER, pid_started_at REAL, cwd TEXT, mlcost_version TEXT, "
    "codecarbon_version TEXT)",
    f"CREATE TABLE IF NOT EXISTS runs ({_RUN_COLUMNS_SQL})",
    "CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session_id, started_at)",
)


def ensure_schema(conn) -> None:
    """Create the tables, or bring an older ledger up to this schema by adding the columns it
    lacks (nothing is dropped or rewritten). Safe when two processes open one file at once."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")  # one process migrates; the other waits, then sees it done
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            for statement in CREATE_STATEMENTS:
                conn.execute(statement)
            existing = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
            for name, kind in RUN_COLUMN_TYPES.items():
                if name not in existing:
                    conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def utc_now() -> str:
    """The ledger's timestamp format: ISO 8601 in UTC, microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
