"""The ledger's schema, in one place: run and session columns and the SQL that creates them.

A run row holds what was measured and every constant it was measured under (method, power
figures, PUE, carbon intensity and its source), so any figure can be traced later.
"""

from __future__ import annotations

from datetime import datetime, timezone

# 2: quality(_reason), group_id, repeat, parent_run_id, static_*; 3: model_size, share_target,
# mlflow_parent, sessions.user, the mlflow_sync and share_state tables
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
    "share_target": "TEXT",  # 'URI#experiment' the run is to be logged to (MLflow on), or null
    "mlflow_parent": "TEXT",  # 'experiment_id/run_id' of the user's active MLflow run, if any
    "tags": "TEXT",
    "error": "TEXT",
    "metrics": "TEXT",
}
RUN_COLUMNS = tuple(RUN_COLUMN_TYPES)
INTERNAL_RUN_COLUMNS = ("share_target", "mlflow_parent", "metrics")  # not frame columns
# The columns of a frame of runs (Ledger.read_runs, and the shared runs read from MLflow,
# which add 'user'; a table with sharing on adds 'synced'). Metrics follow, one column each.
FRAME_COLUMNS = tuple(c for c in RUN_COLUMNS if c not in INTERNAL_RUN_COLUMNS)
ADDED_FRAME_COLUMNS = ("user", "synced")
SESSION_COLUMN_TYPES = {
    "session_id": "TEXT PRIMARY KEY",
    "started_at": "TEXT",
    "hostname": "TEXT",
    "user": "TEXT",  # the login name (shared ledgers say whose run it was)
    "pid": "INTEGER",
    "pid_started_at": "REAL",
    "cwd": "TEXT",
    "mlcost_version": "TEXT",
    "codecarbon_version": "TEXT",
}
SESSION_COLUMNS = tuple(SESSION_COLUMN_TYPES)
# Which run went to which MLflow target: one row from the first attempt on (see share.queue).
SYNC_COLUMN_TYPES = {
    "run_id": "TEXT",
    "target": "TEXT",
    "state": "TEXT",  # pushing, waiting (after a failed attempt), synced, rejected
    "mlflow_run_id": "TEXT",  # known once the server answered the create
    "claimed_by": "TEXT",  # session_id of the process pushing it
    "claimed_at": "REAL",  # unix seconds
    "attempts": "INTEGER",
    "last_error": "TEXT",
    "synced_at": "TEXT",
}


def _columns_sql(types: dict[str, str]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in types.items())


TABLES = {"runs": RUN_COLUMN_TYPES, "sessions": SESSION_COLUMN_TYPES}
CREATE_STATEMENTS = (
    f"CREATE TABLE IF NOT EXISTS sessions ({_columns_sql(SESSION_COLUMN_TYPES)})",
    f"CREATE TABLE IF NOT EXISTS runs ({_columns_sql(RUN_COLUMN_TYPES)})",
    "CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session_id, started_at)",
    f"CREATE TABLE IF NOT EXISTS mlflow_sync ({_columns_sql(SYNC_COLUMN_TYPES)}, "
    "PRIMARY KEY (run_id, target))",
    # What the background pusher last saw of a target (its error, for the one warning).
    "CREATE TABLE IF NOT EXISTS share_state (target TEXT PRIMARY KEY, last_error TEXT, "
    "last_error_at TEXT, last_ok_at TEXT)",
)
# Made after the upgrade has added share_target to an older runs table.
INDEX_STATEMENTS = (
    "CREATE INDEX IF NOT EXISTS runs_by_target ON runs (share_target, started_at) "
    "WHERE share_target IS NOT NULL",
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
            for table, types in TABLES.items():
                existing = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for name, kind in types.items():
                    if name not in existing:
                        kind = kind.replace(" PRIMARY KEY", "")  # only on a new table
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            for statement in INDEX_STATEMENTS:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def utc_now() -> str:
    """The ledger's timestamp format: ISO 8601 in UTC, microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
