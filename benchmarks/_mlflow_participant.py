"""One simulated class participant for bench_mlflow.py (a process of its own).

    python _mlflow_participant.py FOLDER RUNS GO_FILE

The environment names the participant (MLCOST_USER, MLCOST_HOSTNAME), its ledger
(MLCOST_LEDGER) and the class server (MLCOST_MLFLOW_TRACKING_URI, MLCOST_MLFLOW_EXPERIMENT).
It makes two sessions: the process's own (`mlcost_magic.track()`, MLflow on, from the
environment) and one with MLflow off on a second ledger, and times RUNS `track()` blocks in
each, alternating, once GO_FILE exists. Then it stays, as a participant's kernel stays open,
until its background pusher has synced every run, and prints the timings as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

WAIT_FOR_SYNC_S = 240.0


def main() -> None:
    folder, runs, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    uri = os.environ.pop("MLCOST_MLFLOW_TRACKING_URI")
    import mlcost_magic
    from mlcost_magic.measure.settings import Settings
    from mlcost_magic.session import Session, current_session

    off = Session(Settings(ledger_path=folder / "off.sqlite"))  # no URI anywhere: MLflow off
    os.environ["MLCOST_MLFLOW_TRACKING_URI"] = uri
    on = current_session()  # what track() records into: MLflow on, from the environment
    assert on.sharing is not None and off.sharing is None
    (folder / "ready").touch()
    while not go.exists():
        time.sleep(0.05)

    samples: dict[str, list[float]] = {"on": [], "off": []}
    trackers = {"on": mlcost_magic.track, "off": off.track}
    for i in range(runs):
        for mode in ("on", "off") if i % 2 else ("off", "on"):
            started = time.perf_counter()
            with trackers[mode](f"size {i % 4}", tags={"size": i % 4}, quiet=True) as run:
                run.log_metric("accuracy", 0.9)
            samples[mode].append(time.perf_counter() - started)
    ended = time.time()

    deadline = time.monotonic() + WAIT_FOR_SYNC_S
    while on.sharing.queue.counts()["waiting"] and time.monotonic() < deadline:
        time.sleep(0.5)
    counts, state = on.sharing.queue.counts(), on.sharing.queue.state()
    on.close()
    off.close()
    print(json.dumps({**samples, "ended": ended, "counts": counts, "state": state}))


if __name__ == "__main__":
    main()
