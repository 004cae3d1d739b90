"""Pushing waiting runs to MLflow: the loop ``%carbon sync`` runs, and the background process
each sharing session starts (``python -m mlcost_magic.share.pusher LEDGER EXPERIMENT``).

The background process runs outside the kernel, so no cell waits on the network, on MLflow's
HTTP or on the GIL, and its CPU time is not charged to the user's cells (it is
detached from the kernel's process tree). The kernel wakes it with a byte on its stdin after
each run, and it pushes once a burst of runs pauses; when the kernel exits, stdin closes and
it makes one last bounded attempt, then exits. Failures back off (1 s doubling to 60 s); what
failed is written to the ledger (``share_state``) for the kernel's one warning and ``%carbon
status``. The tracking URI comes
in the environment, never in argv (where ``ps`` shows it).
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..store.ledger import Ledger
from .queue import Claim, SyncQueue
from .server import MlflowServer, ServerError
from .target import Target

URI_FOR_CHILD_ENV = "MLCOST_PUSHER_TRACKING_URI"
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 60.0
IDLE_RECHECK_S = 30.0  # also picks up runs that other sessions on this ledger left waiting
LAST_ATTEMPT_S = 10.0  # after the kernel exits
# A burst of runs (a loop, cells back to back) is pushed once it pauses for QUIET_S, or after
# MAX_DELAY_S at the latest, so the pusher and the cells do not share the CPU meanwhile.
QUIET_S, MAX_DELAY_S = 0.3, 5.0


@dataclass
class PushResult:
    pushed: int = 0  # logged by this push
    found: int = 0  # already on the server from an earlier attempt: recorded, not logged again
    rejected: int = 0  # refused by the server (HTTP 400); kept in the ledger, not retried
    error: str | None = None  # why the push stopped early (server unavailable)


class Pusher:
    def __init__(self, ledger: Ledger, target: Target, server: MlflowServer | None = None):
        self.queue = SyncQueue(ledger, target.key)
        self.server = server or MlflowServer(target)

    def push(
        self,
        progress: Callable[[PushResult], None] | None = None,
        deadline: float | None = None,
        result: PushResult | None = None,
    ) -> PushResult:
        """Push every claimable run, batch by batch, until none is left, the server fails or
        the deadline (time.monotonic) passes. ``result``: counts to add to (a sync's total)."""
        result = PushResult() if result is None else result
        result.error = None
        while deadline is None or time.monotonic() < deadline:
            claims = self.queue.claim()
            if not claims:
                break
            for index, claim in enumerate(claims):
                try:
                    self._push_one(claim, result)
                except ServerError as error:
                    if error.run_level:
                        self.queue.rejected(claim.run_id, error.reason)
                        result.rejected += 1
                        continue
                    self.queue.release([claim.run_id], error.reason, attempted=True)
                    self.queue.release([c.run_id for c in claims[index + 1 :]], None, False)
                    self.queue.record_error(error.reason)
                    result.error = error.reason
                    return result
                except BaseException:  # Ctrl-C in %carbon sync: nothing stays claimed by us
                    self.queue.release([claim.run_id], None, attempted=True)
                    self.queue.release([c.run_id for c in claims[index + 1 :]], None, False)
                    raise
            if progress is not None:
                progress(result)
        if result.pushed or result.found:
            self.queue.record_ok()
        return result

    def _push_one(self, claim: Claim, result: PushResult) -> None:
        row = self.queue.run_row(claim.run_id)
        parent_experiment, parent_run = None, None
        if row.get("mlflow_parent"):
            parent_experiment, _, parent_run = row["mlflow_parent"].partition("/")
        experiment_id = parent_experiment or self.server.experiment_id()
        mlflow_id = claim.mlflow_run_id
        if mlflow_id is None and claim.uncertain:
            existing = self.server.find_run(claim.run_id, experiment_id)
            if existing is not None:
                mlflow_id = existing["info"]["run_id"]
                if existing["info"].get("status") != "RUNNING":  # complete there already
                    self.queue.synced(claim.run_id, mlflow_id)
                    result.found += 1
                    return
        if mlflow_id is None:
            mlflow_id = self.server.create_run(row, experiment_id, parent_run)
            self.queue.created(claim.run_id, mlflow_id)
        self.server.complete_run(mlflow_id, row)
        self.queue.synced(claim.run_id, mlflow_id)
        result.pushed += 1


def _wait(timeout_s: float) -> str:
    """'woken' (a byte on stdin: a new run), 'timeout', or 'closed' (the session ended)."""
    readable, _, _ = select.select([sys.stdin.fileno()], [], [], timeout_s)
    if not readable:
        return "timeout"
    return "woken" if os.read(sys.stdin.fileno(), 4096) else "closed"


def _settle() -> bool:
    """After a wake, let a burst of runs end (no new run for QUIET_S, at most MAX_DELAY_S) so
    the push does not compete with the cells for the CPU; False when the session ended."""
    deadline = time.monotonic() + MAX_DELAY_S
    while time.monotonic() < deadline:
        event = _wait(min(QUIET_S, max(0.0, deadline - time.monotonic())))
        if event == "closed":
            return False
        if event == "timeout":
            return True
    return True


def main(argv: list[str] | None = None) -> int:
    ledger_path, experiment = (argv or sys.argv[1:])[:2]
    target = Target(os.environ.pop(URI_FOR_CHILD_ENV), experiment)
    ledger = Ledger(ledger_path)
    pusher = Pusher(ledger, target)
    backoff_s = 0.0
    alive = True
    while alive:
        result = _push_guarded(pusher)
        if result.error is None:
            backoff_s = 0.0
            event = _wait(IDLE_RECHECK_S)
            alive = event != "closed" and (event == "timeout" or _settle())
        else:
            backoff_s = min(max(backoff_s * 2, BACKOFF_FIRST_S), BACKOFF_MAX_S)
            wait_until = time.monotonic() + backoff_s
            while alive and time.monotonic() < wait_until:  # wakes only count once it is due
                alive = _wait(max(0.0, wait_until - time.monotonic())) != "closed"
    _push_guarded(pusher, deadline=time.monotonic() + LAST_ATTEMPT_S)
    ledger.close()
    return 0


def _push_guarded(pusher: Pusher, deadline: float | None = None) -> PushResult:
    """A failure of ours (a busy or vanished ledger) is recorded and retried like a server's,
    never the end of the background process."""
    try:
        return pusher.push(deadline=deadline)
    except Exception as error:
        reason = f"the background pusher failed: {type(error).__name__}: {error}"[:300]
        try:
            pusher.queue.record_error(reason)
        except Exception:
            pass
        return PushResult(error=reason)


if __name__ == "__main__":
    sys.exit(main())
