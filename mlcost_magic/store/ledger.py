"""The session ledger: one SQLite file that every run is written to, durably, as it happens.

A run is inserted when it starts (status 'running') and completed when it ends, each in its own
committed transaction (WAL mode), so a killed kernel leaves every earlier run intact and its
unfinished run visible as 'lost' (marked when the next session opens the ledger). Several kernels
may write to one file at once. Reading returns rows; the trade-off comparison is ``compare``'s.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import LedgerWarning, warn
from .frames import runs_frame
from .schema import FRAME_COLUMNS, RUN_COLUMNS, SESSION_COLUMNS, ensure_schema, utc_now

__all__ = ["DEFAULT_LEDGER_NAME", "Ledger", "LedgerWarning", "resolve_ledger_path", "utc_now"]

BUSY_TIMEOUT_MS = 30_000
DEFAULT_LEDGER_NAME = "mlcost_ledger.sqlite"
LEDGER_ENV = "MLCOST_LEDGER"


def resolve_ledger_path(
    explicit: str | os.PathLike | None = None,
    *,
    env: Mapping[str, str] | None = None,
    folder: str | os.PathLike | None = None,
) -> Path:
    """The one rule for where the ledger is: the explicit path, else $MLCOST_LEDGER, else
    ``mlcost_ledger.sqlite`` in ``folder`` (default: the working directory); absolute."""
    env = os.environ if env is None else env
    raw = explicit or env.get(LEDGER_ENV) or Path(folder or ".") / DEFAULT_LEDGER_NAME
    return Path(raw).expanduser().absolute()


class Ledger:
    """Runs of every session written to one SQLite file (default ./mlcost_ledger.sqlite).

    >>> Ledger("mlcost_ledger.sqlite").read_runs()         # every run of every session
    """

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = False):
        """Open the ledger at path (default: $MLCOST_LEDGER, else ./mlcost_ledger.sqlite).

        Reading a ledger that does not exist is an error (a typo should not look like an empty
        ledger); sessions open theirs with create=True."""
        self.path = resolve_ledger_path(path)
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
            ensure_schema(conn)
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
        warn(
            f"ledger {self.path} is corrupt ({error}); moved it to {moved} and started a new "
            "ledger",
            LedgerWarning,
            stacklevel=5,
        )
        return moved

    def _fall_back(self, error: Exception, also: str = "") -> sqlite3.Connection:
        """Keep this session's runs in memory when the file cannot be written."""
        warn(
            f"cannot write ledger {self.path} ({error}){also}; this session's runs are kept in "
            "memory only (set MLCOST_LEDGER to a writable path)",
            LedgerWarning,
            stacklevel=5,
        )
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        ensure_schema(conn)
        self.in_memory = True
        return conn

    def _write(self, table: str, row: dict, upsert: bool = False) -> None:
        """Write one row in its own committed statement; on a write failure switch to memory,
        replay this process's sessions and runs there, then write the row."""
        with self._lock:
            try:
                self._conn.execute(*_insert_sql(table, row, upsert))
                return
            except sqlite3.Error as error:
                if self.in_memory:
                    raise
                rows = self._session_rows()
                self._conn.close()
                self._conn = self._fall_back(error)
            for session in self._sessions:
                self._conn.execute(*_insert_sql("sessions", session, upsert=True))
            for replayed in rows:
                self._conn.execute(*_insert_sql("runs", replayed, upsert=True))
            self._conn.execute(*_insert_sql(table, row, upsert))

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

    # -- writing ----------------------------------------------------------------------------
    def open_session(self, session: dict[str, Any]) -> None:
        row = {name: session.get(name) for name in SESSION_COLUMNS}
        self._sessions.append(row)
        self._write("sessions", row, upsert=True)

    def start_run(self, run: dict[str, Any]) -> None:
        self._write("runs", _encode(run))

    def finish_run(self, run: dict[str, Any]) -> None:
        """Complete a run inserted by start_run (inserting it if that insert was lost)."""
        self._write("runs", _encode(run), upsert=True)

    def set_quality(self, run_ids: list[str], quality: str, reason: str) -> None:
        """A group-level verdict (noisy) on runs already recorded."""
        with self._lock:
            self._conn.executemany(
                "UPDATE runs SET quality = ?, quality_reason = ? WHERE run_id = ?",
                [(quality, reason, run_id) for run_id in run_ids],
            )

    @contextlib.contextmanager
    def connection(self):
        """The ledger's connection, held by this thread, for the tables other layers keep in
        the same file (share.queue): ``with ledger.connection() as conn: conn.execute(...)``."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:  # never under a reader in another thread (the panel's worker)
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    # -- reading ----------------------------------------------------------------------------
    def mark_lost_runs(self) -> int:
        """Runs still 'running' whose process on this host is gone become 'lost' (a write:
        sessions call it when they open the ledger, never on a read)."""
        from ..measure.hardware import machine_name

        with self._lock:
            rows = self._conn.execute(
                "SELECT r.run_id, s.pid, s.pid_started_at FROM runs r JOIN sessions s "
                "USING (session_id) WHERE r.status = 'running' AND s.hostname = ?",
                (machine_name(),),
            ).fetchall()
            lost = [run_id for run_id, pid, pid_started in rows if not pid_alive(pid, pid_started)]
            for run_id in lost:
                self._conn.execute("UPDATE runs SET status = 'lost' WHERE run_id = ?", (run_id,))
        return len(lost)

    def read_runs(self, session_id: str | None = None):
        """All runs (or one session's) as a DataFrame of rows: the ledger's columns, tags as
        dicts, times as UTC timestamps, one float column per metric. Nothing is written."""
        with self._lock:
            where, params = (
                ("", ()) if session_id is None else (" WHERE session_id = ?", (session_id,))
            )
            # Metrics become columns inside SQLite (json_extract), not by decoding JSON row by row.
            base = list(FRAME_COLUMNS)
            # A metric an older ledger holds under a name that is now a column stays unread.
            names = [
                row[0]
                for row in self._conn.execute(
                    f"SELECT DISTINCT j.key FROM runs, json_each(runs.metrics) AS j{where}", params
                )
                if row[0] not in base
            ]
            selects = base + [f"json_extract(metrics, '$.\"{n}\"')" for n in names]
            rows = self._conn.execute(
                f"SELECT {','.join(selects)} FROM runs{where} ORDER BY started_at, rowid", params
            ).fetchall()
        return runs_frame(rows, base, names)

    def to_frame(self, session_id: str | None = None):
        """Deprecated (0.2): ``read_runs()`` for rows, ``mlcost_magic.compare(rows).frame`` for
        the derived trade-off columns this method used to add. Removed in 0.3."""
        warnings.warn(
            "Ledger.to_frame() is deprecated: use Ledger.read_runs(), and "
            "mlcost_magic.compare(rows).frame for the trade-off columns",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..compare import compare  # the one upward import, in a shim that goes in 0.3

        return compare(self.read_runs(session_id)).frame


def _insert_sql(table: str, row: dict, upsert: bool = False) -> tuple[str, tuple]:
    """The one INSERT builder. upsert: update the existing row in place (no index rewrite)."""
    names = tuple(row)
    return _statement(table, names, upsert), tuple(row[name] for name in names)


@functools.lru_cache(maxsize=64)
def _statement(table: str, names: tuple[str, ...], upsert: bool) -> str:
    key = "run_id" if table == "runs" else "session_id"
    sql = f"INSERT INTO {table} ({','.join(names)}) VALUES ({','.join('?' * len(names))})"
    if upsert:
        updates = ",".join(f"{name}=excluded.{name}" for name in names if name != key)
        sql += f" ON CONFLICT({key}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING")
    return sql


def _encode(run: dict[str, Any]) -> dict[str, Any]:
    row = {name: run[name] for name in RUN_COLUMNS if name in run}
    for name in ("tags", "metrics"):
        if name in row and not isinstance(row[name], str):
            # Non-ASCII names as they are: SQLite's json_extract does not find a name stored
            # \u-escaped, so a metric "précision" would read back as missing.
            row[name] = json.dumps(row[name], sort_keys=True, default=str, ensure_ascii=False)
    return row


def pid_alive(pid: int | None, pid_started_at: float | None) -> bool:
    """The process pid is alive and is the one started at pid_started_at (not a reuse)."""
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
