"""Which runs wait for MLflow, kept in the ledger itself so nothing is lost or sent twice.

A run recorded while sharing is on names its target in ``runs.share_target``: that is the
queue, written with the run at no extra cost. ``mlflow_sync`` holds one row per run and target
from the first attempt on. A pusher claims a batch in one ``BEGIN IMMEDIATE`` transaction, so
two processes on one ledger never push the same run; it records the MLflow run id as soon as
the server answers the create, and 'synced' when the run is complete there. A run whose push
may have reached the server without the ledger hearing of it (a crash, a timeout, a claim by a
process that died) is looked up by its ``mlcost.run_id`` tag before it is created again.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from ..store.ledger import Ledger, pid_alive
from ..store.schema import FRAME_COLUMNS, utc_now

BATCH_RUNS = 50
STALE_CLAIM_S = 300.0  # a claim older than this is taken over even if its process lives


@dataclass(frozen=True)
class Claim:
    run_id: str
    mlflow_run_id: str | None  # known: the create was answered
    uncertain: bool  # an earlier attempt may have created it: look it up first


def claimer_id() -> str:
    """This process, as a claim names it: 'host:pid:start time'."""
    import psutil

    return f"{socket.gethostname()}:{os.getpid()}:{psutil.Process().create_time():.3f}"


def _claimer_alive(claimer: str | None) -> bool:
    if not claimer:
        return False
    host, _, rest = claimer.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True  # another machine's process: only the age of its claim can tell
    try:
        return pid_alive(int(pid), float(started))
    except ValueError:
        return False


class SyncQueue:
    def __init__(self, ledger: Ledger, target_key: str):
        self.ledger, self.target = ledger, target_key
        self.claimer = claimer_id()

    # -- claiming ---------------------------------------------------------------------------
    def claim(self, limit: int = BATCH_RUNS) -> list[Claim]:
        """Up to ``limit`` finished runs nobody is pushing, now claimed by this process."""
        now = time.time()
        with self.ledger.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(
                    "SELECT r.run_id, s.state, s.mlflow_run_id, s.attempts, s.claimed_by, "
                    "s.claimed_at FROM runs r LEFT JOIN mlflow_sync s "
                    "ON s.run_id = r.run_id AND s.target = r.share_target "
                    "WHERE r.share_target = ? AND r.status != 'running' "
                    "AND (s.state IS NULL OR s.state IN ('waiting', 'pushing')) "
                    "ORDER BY r.started_at, r.rowid LIMIT ?",
                    (self.target, limit * 4),
                ).fetchall()
                claims = []
                for run_id, state, mlflow_id, attempts, claimer, claimed_at in rows:
                    if state == "pushing" and claimer != self.claimer:
                        if now - (claimed_at or 0) < STALE_CLAIM_S and _claimer_alive(claimer):
                            continue  # another live process is pushing it
                    uncertain = mlflow_id is None and (state == "pushing" or (attempts or 0) > 0)
                    claims.append(Claim(run_id, mlflow_id, uncertain))
                    if len(claims) == limit:
                        break
                conn.executemany(
                    "INSERT INTO mlflow_sync (run_id, target, state, claimed_by, claimed_at, "
                    "attempts) VALUES (?, ?, 'pushing', ?, ?, 0) ON CONFLICT (run_id, target) "
                    "DO UPDATE SET state = 'pushing', claimed_by = excluded.claimed_by, "
                    "claimed_at = excluded.claimed_at",
                    [(c.run_id, self.target, self.claimer, now) for c in claims],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return claims

    def _update(self, sql: str, params: tuple) -> None:
        with self.ledger.connection() as conn:
            conn.execute(sql, params)

    def created(self, run_id: str, mlflow_run_id: str) -> None:
        self._update(
            "UPDATE mlflow_sync SET mlflow_run_id = ? WHERE run_id = ? AND target = ?",
            (mlflow_run_id, run_id, self.target),
        )

    def synced(self, run_id: str, mlflow_run_id: str) -> None:
        self._update(
            "UPDATE mlflow_sync SET state = 'synced', mlflow_run_id = ?, synced_at = ?, "
            "last_error = NULL WHERE run_id = ? AND target = ?",
            (mlflow_run_id, utc_now(), run_id, self.target),
        )

    def rejected(self, run_id: str, error: str) -> None:
        """The server refused this run (HTTP 400): kept, not retried, shown in the status."""
        self._update(
            "UPDATE mlflow_sync SET state = 'rejected', last_error = ?, attempts = attempts + 1 "
            "WHERE run_id = ? AND target = ?",
            (error, run_id, self.target),
        )

    def release(self, run_ids: list[str], error: str | None, attempted: bool) -> None:
        """Back to waiting. attempted: a request for it was sent, so it may exist there."""
        with self.ledger.connection() as conn:
            conn.executemany(
                "UPDATE mlflow_sync SET state = 'waiting', last_error = ?, "
                "attempts = attempts + ? WHERE run_id = ? AND target = ? AND state = 'pushing'",
                [(error, int(attempted), run_id, self.target) for run_id in run_ids],
            )

    # -- what is pushed ---------------------------------------------------------------------
    def run_row(self, run_id: str) -> dict[str, Any]:
        """The run's ledger row with its session's user and versions, metrics and tags as
        dicts, and the user's MLflow run it ran inside (``mlflow_parent``)."""
        import json

        columns = [*FRAME_COLUMNS, "metrics", "mlflow_parent"]
        session_columns = ["user", "mlcost_version", "codecarbon_version"]
        with self.ledger.connection() as conn:
            found = conn.execute(
                f"SELECT {', '.join('r.' + c for c in columns)}, "
                f"{', '.join('s.' + c for c in session_columns)} FROM runs r "
                "LEFT JOIN sessions s USING (session_id) WHERE r.run_id = ?",
                (run_id,),
            ).fetchone()
        row = dict(zip(columns + session_columns, found, strict=True))
        row["tags"] = json.loads(row["tags"]) if row["tags"] else {}
        row["metrics"] = json.loads(row["metrics"]) if row["metrics"] else {}
        return row

    # -- state ------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Runs of this target: waiting (not yet synced, pushing included), synced, rejected."""
        with self.ledger.connection() as conn:
            rows = conn.execute(
                "SELECT coalesce(s.state, 'waiting'), count(*) FROM runs r LEFT JOIN mlflow_sync "
                "s ON s.run_id = r.run_id AND s.target = r.share_target "
                "WHERE r.share_target = ? AND r.status != 'running' GROUP BY 1",
                (self.target,),
            ).fetchall()
        states = dict(rows)
        waiting = states.get("waiting", 0) + states.get("pushing", 0)
        return {
            "waiting": waiting,
            "synced": states.get("synced", 0),
            "rejected": states.get("rejected", 0),
        }

    def synced_run_ids(self) -> set[str]:
        with self.ledger.connection() as conn:
            rows = conn.execute(
                "SELECT run_id FROM mlflow_sync WHERE target = ? AND state = 'synced'",
                (self.target,),
            ).fetchall()
        return {row[0] for row in rows}

    def adopt_all(self) -> int:
        """Queue every finished run of the ledger that has no target yet (``%carbon sync
        --all``: share what was measured before sharing was turned on)."""
        with self.ledger.connection() as conn:
            cursor = conn.execute(
                "UPDATE runs SET share_target = ? WHERE share_target IS NULL "
                "AND status != 'running'",
                (self.target,),
            )
            return cursor.rowcount

    def record_error(self, reason: str) -> None:
        self._update(
            "INSERT INTO share_state (target, last_error, last_error_at) VALUES (?, ?, ?) "
            "ON CONFLICT (target) DO UPDATE SET last_error = excluded.last_error, "
            "last_error_at = excluded.last_error_at",
            (self.target, reason, utc_now()),
        )

    def record_ok(self) -> None:
        self._update(
            "INSERT INTO share_state (target, last_ok_at) VALUES (?, ?) ON CONFLICT (target) "
            "DO UPDATE SET last_ok_at = excluded.last_ok_at",
            (self.target, utc_now()),
        )

    def state(self) -> dict[str, str | None]:
        """The last error the pushers saw (and when), and when one last succeeded."""
        with self.ledger.connection() as conn:
            found = conn.execute(
                "SELECT last_error, last_error_at, last_ok_at FROM share_state WHERE target = ?",
                (self.target,),
            ).fetchone()
        keys = ("last_error", "last_error_at", "last_ok_at")
        return dict(zip(keys, found or (None, None, None), strict=True))
