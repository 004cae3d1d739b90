"""The session ledger: one SQLite file that every run is written to, durably, as it happens.

A run is inserted when it starts (status 'running') and completed when it ends, each in its own
committed transaction (WAL mode), so a killed kernel leaves every earlier run intact and its
unfinished run visible as 'lost'. Several kernels may write to one file at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .settings import DEFAULT_LEDGER_NAME

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

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

_SCHEMA = f"""
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


class LedgerWarning(UserWarning):
    """The ledger could not be used as asked; runs are still kept (see the message)."""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class Ledger:
    """Runs of every session written to one SQLite file (default ./mlcost_ledger.sqlite).

    >>> Ledger("mlcost_ledger.sqlite").to_frame()          # every run of every session
    """

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = False):
        """Open the ledger at path (default: $MLCOST_LEDGER, else ./mlcost_ledger.sqlite).

        Reading a ledger that does not exist is an error (a typo should not look like an empty
        ledger); sessions open theirs with create=True."""
        self.path = Path(path or os.environ.get("MLCOST_LEDGER") or DEFAULT_LEDGER_NAME)
        self.path = self.path.expanduser().absolute()
        if not create and not self.path.exists():
            raise FileNotFoundError(f"no ledger at {self.path}")
        self.in_memory = False  # True after a fallback: the file could not be written
        self._sessions: list[dict] = []  # sessions opened here, replayed on fallback
        self._lock = threading.RLock()  # one connection, shared by the threads of a process
        self._conn = self._connect()

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            return self._open_file_retrying()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError):
                return self._fall_back(error)
            moved = self._move_aside_corrupt(error)
            try:
                return self._open_file_retrying()
            except sqlite3.Error as second:
                return self._fall_back(second, also=f" (a corrupt file was moved to {moved})")

    def _open_file_retrying(self) -> sqlite3.Connection:
        """Two processes creating one ledger at once: switching a new file to WAL can fail with
        'database is locked' without waiting on the busy timeout, so the open is retried."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay_s = 0.005
        while True:
            try:
                return self._open_file()
            except sqlite3.OperationalError as error:
                busy = "locked" in str(error) or "busy" in str(error)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, 0.2)

    def _open_file(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable against a killed process
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.executescript(_SCHEMA)
            conn.execute("SELECT count(*) FROM runs WHERE rowid = 1").fetchone()
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _move_aside_corrupt(self, error: Exception) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        moved = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.rename(Path(f"{moved}{suffix}"))
        warnings.warn(
            f"mlcost-magic: ledger {self.path} is corrupt ({error}); moved it to {moved} "
            f"and started a new ledger",
            LedgerWarning,
            stacklevel=4,
        )
        return moved

    def _fall_back(self, error: Exception, also: str = "") -> sqlite3.Connection:
        """Keep this session's runs in memory when the file cannot be written."""
        warnings.warn(
            f"mlcost-magic: cannot write ledger {self.path} ({error}){also}; this session's runs "
            f"are kept in memory only (set MLCOST_LEDGER to a writable path)",
            LedgerWarning,
            stacklevel=4,
        )
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.executescript(_SCHEMA)
        self.in_memory = True
        return conn

    def _write(self, sql: str, params: tuple, recover: dict | None = None) -> None:
        """Run one committed statement; on a write failure switch to memory and replay."""
        with self._lock:
            self._write_locked(sql, params, recover)

    def _write_locked(self, sql: str, params: tuple, recover: dict | None) -> None:
        try:
            self._conn.execute(sql, params)
            return
        except sqlite3.Error as error:
            if self.in_memory:
                raise
            rows = self._session_rows()
            self._conn.close()
            self._conn = self._fall_back(error)
        for session in self._sessions:
            self._insert("sessions", session)
        for row in rows:
            self._insert("runs", row)
        if recover is not None:
            self._insert("runs", recover, replace=True)
        self._conn.execute(sql, params)

    def _session_rows(self) -> list[dict]:
        ids = [s["session_id"] for s in self._sessions]
        if not ids:
            return []
        try:
            marks = ",".join("?" * len(ids))
            cursor = self._conn.execute(f"SELECT * FROM runs WHERE session_id IN ({marks})", ids)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]
        except sqlite3.Error:
            return []

    def _insert(self, table: str, row: dict, replace: bool = False) -> None:
        names = list(row)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        self._conn.execute(
            f"{verb} INTO {table} ({','.join(names)}) VALUES ({','.join('?' * len(names))})",
            tuple(row[n] for n in names),
        )

    # -- writing ----------------------------------------------------------------------------
    def open_session(self, session: dict[str, Any]) -> None:
        row = {name: session.get(name) for name in SESSION_COLUMNS}
        self._sessions.append(row)
        names = ",".join(row)
        self._write(
            f"INSERT OR REPLACE INTO sessions ({names}) VALUES ({','.join('?' * len(row))})",
            tuple(row.values()),
        )

    def start_run(self, run: dict[str, Any]) -> None:
        row = _encode(run)
        names = ",".join(row)
        self._write(
            f"INSERT INTO runs ({names}) VALUES ({','.join('?' * len(row))})", tuple(row.values())
        )

    def finish_run(self, run: dict[str, Any]) -> None:
        """Complete a run inserted by start_run (inserting it if that insert was lost)."""
        row = _encode(run)
        names = ",".join(row)
        updates = ",".join(f"{name}=excluded.{name}" for name in row if name != "run_id")
        sql = (
            f"INSERT INTO runs ({names}) VALUES ({','.join('?' * len(row))}) "
            f"ON CONFLICT(run_id) DO UPDATE SET {updates}"  # in place: no index rewrite
        )
        self._write(sql, tuple(row.values()), recover=row)

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error:
            pass

    # -- reading ----------------------------------------------------------------------------
    def mark_lost_runs(self) -> int:
        """Runs still 'running' whose process on this host is gone become 'lost'."""
        import socket

        with self._lock:
            rows = self._conn.execute(
                "SELECT r.run_id, s.pid, s.pid_started_at FROM runs r JOIN sessions s "
                "USING (session_id) WHERE r.status = 'running' AND s.hostname = ?",
                (socket.gethostname(),),
            ).fetchall()
        lost = [run_id for run_id, pid, pid_started in rows if not _alive(pid, pid_started)]
        for run_id in lost:
            self._write("UPDATE runs SET status = 'lost' WHERE run_id = ?", (run_id,))
        return len(lost)

    def to_frame(self, session_id: str | None = None):
        """All runs (or one session's) as a DataFrame: one column per metric, derived columns."""
        import pandas as pd

        from .metrics import add_derived_columns

        try:
            self.mark_lost_runs()
        except sqlite3.Error:
            pass
        with self._lock:
            where, params = (
                ("", ()) if session_id is None else (" WHERE session_id = ?", (session_id,))
            )
            # Metrics become columns inside SQLite (json_extract), not by decoding JSON row by row.
            names = [
                row[0]
                for row in self._conn.execute(
                    f"SELECT DISTINCT j.key FROM runs, json_each(runs.metrics) AS j{where}", params
                )
            ]
            base = [c for c in RUN_COLUMNS if c != "metrics"]
            selects = base + [f"json_extract(metrics, '$.\"{n}\"')" for n in names]
            rows = self._conn.execute(
                f"SELECT {','.join(selects)} FROM runs{where} ORDER BY started_at, rowid", params
            ).fetchall()
        frame = pd.DataFrame.from_records(rows, columns=base + names)
        decoded: dict[str, dict] = {}
        frame["tags"] = [
            dict(decoded.get(t) or decoded.setdefault(t, json.loads(t) if t else {}))
            for t in frame["tags"]
        ]
        for column in ("started_at", "ended_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        frame["inferences"] = frame["inferences"].astype("Int64")
        for name in names:
            frame[name] = frame[name].astype(float)
        return add_derived_columns(frame)


def _encode(run: dict[str, Any]) -> dict[str, Any]:
    row = {name: run[name] for name in RUN_COLUMNS if name in run}
    for name in ("tags", "metrics"):
        if name in row and not isinstance(row[name], str):
            row[name] = json.dumps(row[name], sort_keys=True, default=str)
    return row


def _alive(pid: int | None, pid_started_at: float | None) -> bool:
    import psutil

    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped by its parent
            return False
        return pid_started_at is None or abs(process.create_time() - pid_started_at) < 1.0
    except psutil.Error:
        return False
