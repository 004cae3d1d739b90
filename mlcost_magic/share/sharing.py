"""A session's link to its MLflow target: the background pusher, the queue in its ledger, the
one warning, the status line, ``%carbon sync`` and the shared runs read back."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime

from ..errors import ShareWarning, warn
from ..store.ledger import Ledger
from .pusher import Pusher, PushResult
from .queue import SyncQueue
from .server import WAITING_REQUEST_TIMEOUT_S, MlflowServer, ServerError
from .target import Target, redact_uri

WARNING_CHECK_EVERY_S = 1.0
SYNC_POLL_S, SYNC_PATIENCE_S = 0.2, 30.0


class Sharing:
    def __init__(self, ledger: Ledger, target: Target, started_at: str):
        self.ledger, self.target, self.started_at = ledger, target, started_at
        self.queue = SyncQueue(ledger, target.key)
        self._warned = False
        self._next_check = 0.0
        self._background = None
        if not ledger.in_memory:  # a pusher in another process cannot see an in-memory ledger
            from .background import BackgroundPusher

            self._background = BackgroundPusher(str(ledger.path), target)

    def run_recorded(self) -> None:
        """After each run is written: wake the pusher; warn (once) if it is failing."""
        if self._background is not None:
            self._background.wake()
        if self._warned or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + WARNING_CHECK_EVERY_S
        self.warn_if_failing()

    def warn_if_failing(self) -> None:
        if self._warned:
            return
        state = self.queue.state()
        failed_at = state["last_error_at"]
        if failed_at is None or failed_at < self.started_at:
            return
        if state["last_ok_at"] is not None and state["last_ok_at"] > failed_at:
            return  # it failed, then worked again
        self._warned = True
        warn(
            f"MLflow at {self.target.display_uri} cannot be used ({state['last_error']}): runs "
            "wait in the ledger and are retried in the background; %carbon sync pushes them "
            "now, %carbon status says how many wait (said once per session)",
            ShareWarning,
            stacklevel=4,
        )

    def status_line(self) -> str:
        """'MLflow: http://host:5000, experiment workshop-1: 12 runs waiting (last error:
        connection refused, 10:42 UTC)'."""
        counts, state = self.queue.counts(), self.queue.state()
        head = f"MLflow: {self.target.display_uri}, experiment {self.target.experiment}: "
        parts = [f"{counts['waiting']} run{'s' * (counts['waiting'] != 1)} waiting"]
        if counts["synced"]:
            parts.append(f"{counts['synced']} synced")
        if counts["rejected"]:
            parts.append(f"{counts['rejected']} refused by the server")
        text = head + ", ".join(parts)
        failing = state["last_error_at"] and (
            state["last_ok_at"] is None or state["last_ok_at"] < state["last_error_at"]
        )
        if failing and counts["waiting"]:
            at = datetime.fromisoformat(state["last_error_at"]).strftime("%H:%M UTC")
            text += f" (last error: {state['last_error']}, {at})"
        return text

    def sync(
        self, progress: Callable[[PushResult], None] | None = None, adopt_all: bool = False
    ) -> tuple[PushResult, int, int]:
        """Push what waits, now, in this process, and wait for runs another pusher (the
        background one, another kernel's) is pushing, while they progress. adopt_all: first
        queue the ledger's earlier runs that had no target. Returns what this call pushed, how
        many still wait, and how many it adopted."""
        adopted = self.queue.adopt_all() if adopt_all else 0
        pusher = Pusher(
            self.ledger, self.target, MlflowServer(self.target, WAITING_REQUEST_TIMEOUT_S)
        )
        total = PushResult()
        waiting = self.queue.counts()["waiting"]
        progressed_at = time.monotonic()
        while True:
            pusher.push(progress, result=total)
            before, waiting = waiting, self.queue.counts()["waiting"]
            if total.error is not None or waiting == 0:
                break
            if waiting < before:
                progressed_at = time.monotonic()
            elif time.monotonic() - progressed_at > SYNC_PATIENCE_S:
                break  # claimed by a pusher that makes no progress: left to the background
            time.sleep(SYNC_POLL_S)
        return total, waiting, adopted

    def user_mlflow_run(self) -> str | None:
        """'experiment_id/run_id' of the user's own active MLflow run on our server, so our run
        is logged as its child (looked at only when the user's code has imported mlflow)."""
        mlflow = sys.modules.get("mlflow")
        if mlflow is None:
            return None
        try:
            active = mlflow.active_run()
            if active is None:
                return None
            theirs = redact_uri(str(mlflow.get_tracking_uri())).rstrip("/")
        except Exception:
            return None
        if theirs != self.target.display_uri:
            return None  # their run is on another server: ours is logged flat
        return f"{active.info.experiment_id}/{active.info.run_id}"

    def close(self) -> None:
        if self._background is not None:
            self._background.stop()
            self._background = None


def read_shared_runs(target: Target, experiment: str | None = None):
    """Every run mlcost-magic logged to the experiment, from every user and machine, as a frame
    with the ledger's columns plus ``user`` (raises ValueError in one line when it cannot)."""
    from ..store.frames import runs_frame
    from ..store.schema import FRAME_COLUMNS
    from .mlflow_rows import from_mlflow

    target = target.with_experiment(experiment)
    server = MlflowServer(target, WAITING_REQUEST_TIMEOUT_S)
    try:
        runs = server.search(server.experiment_id(create=False))
    except ServerError as error:
        raise ValueError(
            f"cannot read experiment {target.experiment!r} at {target.display_uri}: {error.reason}"
        ) from None
    rows = [row for row in map(from_mlflow, runs) if row is not None]
    rows.sort(key=lambda row: row["started_at"] or "")
    metric_names = sorted({name for row in rows for name in row["metrics"]})
    columns = [*FRAME_COLUMNS, "user"]
    records = [
        [row.get(c) for c in columns] + [row["metrics"].get(n) for n in metric_names]
        for row in rows
    ]
    return runs_frame(records, columns, metric_names)
