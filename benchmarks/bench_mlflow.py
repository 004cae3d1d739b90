"""MLflow sharing (issue 8) against a real loopback `mlflow server` (ClassServer as
`python -m mlcost_magic.tutorials.class_server` runs it: SQLite store, 4 gunicorn workers, no
job runner), every figure against a baseline measured in the same run:

  * `%load_ext mlcost_magic` with MLflow configured (environment) against not configured, in
    fresh processes (target: <= 300 ms);
  * added time of a warm `%%carbon -q` cell with MLflow on, against the same cell in a second
    kernel with MLflow off (real kernels, rotating blocks; inside the kernel and as round trips;
    with the pusher working and with it stopped; target: <= 1 ms median);
  * `%carbon sync --all` throughput (runs per second) on a backlog, against one-at-a-time
    logging with `MlflowClient` (create_run, log_batch, set_terminated);
  * `%carbon table --mlflow` at 100 and 1,000 runs, cold (first call in a fresh kernel) and
    warm, against the server's own `runs/search` (target: 1,000 in 3 s);
  * a simulated class: 30 processes x 20 runs logging at once, each with its own ledger, user and
    host: all land, none twice, time until the last is synced, p95 added time per `track()`.

    .venv/bin/python benchmarks/bench_mlflow.py [--quick] [--only cells,table,...]

Every server, kernel and participant started here is stopped by PID (or process group) at the
end, and the detached pushers our sessions start are waited for (killed by PID if they linger).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import _common
import psutil
from _common import HEADER, row

HERE = Path(__file__).resolve().parent
PARTICIPANT = HERE / "_mlflow_participant.py"


def log(text: str) -> None:
    print(f"[bench_mlflow {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def environment(**values: str | None):
    """os.environ with these values (None: unset) inside the block, restored after."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def sharing_env(uri: str | None, experiment: str | None = None) -> dict[str, str | None]:
    return {"MLCOST_MLFLOW_TRACKING_URI": uri, "MLCOST_MLFLOW_EXPERIMENT": experiment}


def ms(seconds: float) -> float:
    return seconds * 1e3


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


class Kernel(_common.Kernel):
    """A real kernel with `%load_ext mlcost_magic` done, its round trips timed."""

    def __init__(self, ledger: Path, **env: str | None):
        with environment(**env):
            super().__init__(ledger)
        self.execute("import json, time\n%load_ext mlcost_magic")

    def run(self, code: str, timeout_s: float = 120) -> float:
        """Round-trip seconds of one cell (sent to execute reply)."""
        started = time.perf_counter()
        self.execute(code, timeout_s=timeout_s)
        return time.perf_counter() - started

    def value(self, expression: str):
        """A Python literal the kernel evaluates (through user_expressions)."""
        content, _, _ = self.execute("", {"v": expression})
        answer = content["user_expressions"]["v"]
        if answer["status"] != "ok":
            raise RuntimeError(f"{expression!r}: {answer}")
        return ast.literal_eval(answer["data"]["text/plain"])

    def counts(self) -> dict[str, int]:
        return self.value("get_ipython()._mlcost_magics.session.sharing.queue.counts()")


# -- the server ---------------------------------------------------------------------------------
def settle(server, quiet_cpu_s: float = 0.1, timeout_s: float = 60.0) -> float:
    """Wait until the server's processes are idle (after /health answers, MLflow may still be
    starting processes that import mlflow: its job runner, when on): seconds waited."""
    started = time.monotonic()
    group = server.process.pid
    previous, quiet = None, 0
    while time.monotonic() - started < timeout_s:
        total = 0.0
        for process in psutil.process_iter(["pid"]):
            try:
                if os.getpgid(process.pid) == group:
                    times = process.cpu_times()
                    total += times.user + times.system
            except (psutil.Error, ProcessLookupError, PermissionError):
                pass
        if previous is not None and total - previous < quiet_cpu_s:
            quiet += 1
            if quiet >= 3:
                break
        else:
            quiet = 0
        previous = total
        time.sleep(1.0)
    return time.monotonic() - started


def post(uri: str, endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{uri}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def get(uri: str, endpoint: str, **params: str) -> dict:
    from urllib.parse import urlencode

    with urllib.request.urlopen(
        f"{uri}/api/2.0/mlflow/{endpoint}?{urlencode(params)}", timeout=60
    ) as answer:
        return json.loads(answer.read())


def experiment_id(uri: str, name: str) -> str:
    return get(uri, "experiments/get-by-name", experiment_name=name)["experiment"]["experiment_id"]


def search_all(uri: str, experiment: str) -> list[dict]:
    """Every run of the experiment, all pages, straight from the server's runs/search."""
    exp_id, runs, token = experiment_id(uri, experiment), [], None
    while True:
        body = {"experiment_ids": [exp_id], "max_results": 1000}
        if token:
            body["page_token"] = token
        page = post(uri, "runs/search", body)
        runs += page.get("runs", [])
        token = page.get("next_page_token")
        if not token:
            return runs


def tag(run: dict, key: str) -> str | None:
    for item in run.get("data", {}).get("tags", []):
        if item["key"] == key:
            return item.get("value")
    return None


def param(run: dict, key: str) -> str | None:
    for item in run.get("data", {}).get("params", []):
        if item["key"] == key:
            return item.get("value")
    return None


# -- 1. %load_ext ---------------------------------------------------------------------------------
LOAD_EXT = """
import json, sys, time
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
shell.run_cell("x = 1")  # the shell itself is warm, as in a started kernel
t0 = time.perf_counter(); shell.run_cell("%load_ext mlcost_magic"); t1 = time.perf_counter()
session = shell._mlcost_magics.session
print(json.dumps({"load": t1 - t0, "shared": session.sharing is not None,
                  "mlflow_imported": "mlflow" in sys.modules}))
"""


def bench_load_ext(uri: str, root: Path, repeats: int) -> list[str]:
    results: dict[bool, list[dict]] = {False: [], True: []}
    for i in range(repeats):
        for configured in (False, True) if i % 2 else (True, False):
            env = sharing_env(uri if configured else None, "bench-load")
            env["MLCOST_LEDGER"] = str(root / f"load-{configured}.sqlite")
            with environment(**env):
                out = subprocess.run(
                    [sys.executable, "-c", LOAD_EXT], capture_output=True, text=True, check=True
                )
            results[configured].append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert all(r["shared"] for r in results[True]), results[True]
    assert not any(r["shared"] for r in results[False]), results[False]
    on = statistics.median(r["load"] for r in results[True])
    off = statistics.median(r["load"] for r in results[False])
    imported = sum(r["mlflow_imported"] for r in results[True])
    return [
        row(
            f"`%load_ext mlcost_magic` with MLflow configured (environment; median of {repeats} "
            f"fresh processes; mlflow imported in {imported} of them)",
            f"{ms(on):.0f} ms",
            f"not configured {ms(off):.0f} ms",
            f"{on / off:.2f}x ({ms(on - off):+.0f} ms)",
            "<= 300 ms",
        )
    ]


# -- 2. added time per cell -----------------------------------------------------------------------
BLOCK = 20
TRACKED, PLAIN = "%%carbon -q\npass", "pass"
# Each cell's own time in the kernel (pre_run_cell to post_run_cell, after our hooks), so the
# figure is not drowned in jupyter_client's round-trip noise.
CELL_TIMER = """
def _bench_pre(info):
    global _bench_started
    _bench_started = (info.raw_cell, time.perf_counter())
def _bench_post(result):  # an empty cell (user_expressions) fires post_run_cell alone
    global _bench_started
    if _bench_started is not None:
        _bench_cells.append((_bench_started[0], time.perf_counter() - _bench_started[1]))
    _bench_started = None
def _bench_take(code):
    taken = [seconds for source, seconds in _bench_cells if source == code]
    _bench_cells.clear()
    return taken
_bench_cells, _bench_started = [], None
get_ipython().events.register("pre_run_cell", _bench_pre)
get_ipython().events.register("post_run_cell", _bench_post)
"""


def wait_for_pusher(kernel: Kernel, synced: int, timeout_s: float = 60.0) -> float:
    """Seconds until the kernel's pusher has logged `synced` runs in all."""
    started = time.monotonic()
    while kernel.counts()["synced"] < synced and time.monotonic() - started < timeout_s:
        time.sleep(0.1)
    return time.monotonic() - started


def bench_cells(uri: str, root: Path, cells: int) -> list[str]:
    """Two kernels, MLflow off and on, in rotating blocks. After each MLflow-on block, wait
    until its pusher has logged that block's runs: the off blocks run on an idle machine, the
    on blocks beside their own pusher at work (the cost of MLflow on, contention included).
    A third kind of block runs in the on-kernel with its pusher stopped (SIGSTOP): what the
    kernel itself does more with MLflow on, without the pusher's contention."""
    off = Kernel(root / "cells-off.sqlite", **sharing_env(None))
    on = Kernel(root / "cells-on.sqlite", **sharing_env(uri, "bench-cells"))
    inside: dict[tuple[str, str], list[float]] = {}
    trips: dict[tuple[str, str], list[float]] = {}
    waited_s = []
    pusher = None
    try:
        for kernel in (off, on):
            kernel.run(CELL_TIMER)
            for _ in range(30):  # warm: imports, first-run caches, the pusher's first push
                kernel.run(TRACKED)
        (pusher,) = [p for p in our_pushers(root) if any("cells-on" in a for a in p.cmdline())]
        tracked_on = 30
        wait_for_pusher(on, tracked_on)
        modes = [(off, "off"), (on, "on"), (on, "paused")]
        for block in range(max(cells // BLOCK, 1)):
            for kernel, mode in modes[block % 3 :] + modes[: block % 3]:
                if mode == "paused":
                    pusher.suspend()
                for code, kind in ((PLAIN, "plain"), (TRACKED, "tracked")):  # plain: idle
                    kernel.value(f"_bench_take({code!r})")
                    trips.setdefault((mode, kind), []).extend(
                        kernel.run(code) for _ in range(BLOCK)
                    )
                    inside.setdefault((mode, kind), []).extend(
                        kernel.value(f"_bench_take({code!r})")
                    )
                if mode == "paused":
                    pusher.resume()
                if mode != "off":  # the next block starts on an idle machine
                    tracked_on += BLOCK
                    waited_s.append(wait_for_pusher(on, tracked_on))
        counts = on.counts()
    finally:
        if pusher is not None:
            with contextlib.suppress(psutil.Error):
                pusher.resume()
        off.shutdown()
        on.shutdown()
    n = len(inside["on", "tracked"])
    assert n == len(inside["off", "tracked"]) == len(inside["paused", "tracked"]) == cells, n
    med = {key: ms(statistics.median(values)) for key, values in inside.items()}
    trip = {key: ms(statistics.median(values)) for key, values in trips.items()}

    def added(values: dict, mode: str, kind: str = "tracked") -> float:
        return values[mode, kind] - values["off", kind]

    return [
        row(
            f"added time of a warm `%%carbon -q` cell around `pass`, MLflow on (real kernels, "
            f"one on, one off; cell time inside the kernel, median of {n} each, rotating "
            f"blocks of {BLOCK}; the on blocks run while their pusher logs them)",
            f"{added(med, 'on'):+.3f} ms ({med['on', 'tracked']:.3f} vs "
            f"{med['off', 'tracked']:.3f} ms)",
            f"same cell, MLflow off {med['off', 'tracked']:.3f} ms (plain `pass` cells: "
            f"{added(med, 'on', 'plain'):+.3f} ms between the kernels)",
            f"{med['on', 'tracked'] / med['off', 'tracked']:.2f}x",
            "<= 1 ms",
        ),
        row(
            "same, the on-kernel's pusher stopped (SIGSTOP) during the block: the kernel's own "
            "extra work, without the pusher's contention",
            f"{added(med, 'paused'):+.3f} ms ({med['paused', 'tracked']:.3f} ms)",
            f"MLflow off {med['off', 'tracked']:.3f} ms",
            f"{med['paused', 'tracked'] / med['off', 'tracked']:.2f}x",
            "<= 1 ms",
        ),
        row(
            "same, as execute round trips through jupyter_client (pusher working / stopped)",
            f"{added(trip, 'on'):+.2f} / {added(trip, 'paused'):+.2f} ms "
            f"({trip['on', 'tracked']:.2f} / {trip['paused', 'tracked']:.2f} ms)",
            f"MLflow off {trip['off', 'tracked']:.2f} ms (plain cells: "
            f"{added(trip, 'on', 'plain'):+.2f} ms between the kernels)",
            f"{trip['on', 'tracked'] / trip['off', 'tracked']:.2f}x",
            "<= 1 ms",
        ),
        row(
            "the background pusher kept up with those cells",
            f"{counts['synced']} of {tracked_on} synced; a block of {BLOCK} was logged "
            f"{statistics.median(waited_s):.1f} s (median) after its last cell",
            f"{counts['waiting']} waiting, {counts['rejected']} rejected",
            "",
            "all, none lost",
        ),
    ]


# -- 3. sync throughput, and the experiments the table reads ---------------------------------------
FILL = """
import mlcost_magic
for i in range({n}):
    with mlcost_magic.track(f"size {{i % 4}}", tags={{"size": i % 4}}, quiet=True) as run:
        run.log_metric("accuracy", 0.8 + i % 4 / 20)
"""


def fill_and_sync(kernel: Kernel, uri: str, experiment: str, runs: int, total: int) -> float:
    """`runs` runs recorded with MLflow off, then MLflow on and `%carbon sync --all` timed (the
    new background pusher is idle by then: it only wakes for new runs). total: how many the
    experiment's target then holds synced."""
    kernel.run('%config CarbonMagics.mlflow_tracking_uri = ""')
    kernel.run(FILL.format(n=runs), timeout_s=300)
    kernel.run(f'%config CarbonMagics.mlflow_experiment = "{experiment}"')
    kernel.run(f'%config CarbonMagics.mlflow_tracking_uri = "{uri}"')
    time.sleep(3)  # the new pusher has started, found nothing to push, and waits
    seconds = kernel.run("%carbon sync --all", timeout_s=600)
    counts = kernel.counts()
    assert counts == {"waiting": 0, "synced": total, "rejected": 0}, counts
    return seconds


# One run as the facts doc logged it: log_batch of 4 metrics, 3 params, 2 tags.
FACTS_PAYLOAD = {
    "run_name": "size 1",
    "create_tags": {},
    "metrics": {"duration_s": 1.0, "energy_kwh": 1e-6, "emissions_kg": 5e-8, "accuracy": 0.9},
    "params": {"size": "1", "user": "a", "hostname": "h"},
    "batch_tags": {"team": "x", "round": "1"},
}


def payload_of(run: dict) -> dict:
    """What one of our logged runs holds (from runs/search), to log again with MlflowClient."""
    data = run["data"]
    return {
        "run_name": run["info"]["run_name"],
        "create_tags": {
            t["key"]: t["value"] for t in data["tags"] if not t["key"].startswith("mlflow.")
        },
        "metrics": {m["key"]: m["value"] for m in data["metrics"]},
        "params": {p["key"]: p["value"] for p in data["params"]},
        "batch_tags": {},
    }


class ClientBaseline:
    """Logging one run at a time with MLflow's own client: create_run, log_batch,
    set_terminated (which also prints "View run at ..." and reads the run back)."""

    def __init__(self, uri: str):
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        self.experiments: dict[str, str] = {}
        self.seconds: dict[str, float] = {}
        self.runs: dict[str, int] = {}

    def log(self, experiment: str, payload: dict, runs: int) -> None:
        from mlflow.entities import Metric, Param, RunTag

        if experiment not in self.experiments:
            self.experiments[experiment] = self.client.create_experiment(experiment)
        exp_id = self.experiments[experiment]
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(runs):
                stamp = int(time.time() * 1000)
                run = self.client.create_run(
                    exp_id,
                    start_time=stamp,
                    tags=payload["create_tags"],
                    run_name=payload["run_name"],
                )
                self.client.log_batch(
                    run.info.run_id,
                    metrics=[Metric(k, v, stamp, 0) for k, v in payload["metrics"].items()],
                    params=[Param(k, v) for k, v in payload["params"].items()],
                    tags=[RunTag(k, v) for k, v in payload["batch_tags"].items()],
                )
                self.client.set_terminated(run.info.run_id)
        self.seconds[experiment] = self.seconds.get(experiment, 0.0) + time.perf_counter() - started
        self.runs[experiment] = self.runs.get(experiment, 0) + runs

    def rate(self, experiment: str) -> float:
        return self.runs[experiment] / self.seconds[experiment]


def bench_sync(uri: str, root: Path, sizes: tuple[int, int], rounds: int, base_runs: int):
    """The small experiment in one backlog (the kernel's first sync); the large
    one in `rounds` backlogs, each followed by the client baselines, so drift hits both."""
    small, large = sizes
    kernel = Kernel(root / "fill.sqlite", **sharing_env(None))
    baseline = ClientBaseline(uri)
    ours_s, payload = 0.0, None
    try:
        small_s = fill_and_sync(kernel, uri, f"bench-{small}", small, small)
        for done in range(1, rounds + 1):
            ours_s += fill_and_sync(
                kernel, uri, f"bench-{large}", large // rounds, done * (large // rounds)
            )
            if payload is None:
                exp_id = experiment_id(uri, f"bench-{large}")
                first = post(uri, "runs/search", {"experiment_ids": [exp_id], "max_results": 1})
                payload = payload_of(first["runs"][0])
            baseline.log("bench-baseline-facts", FACTS_PAYLOAD, base_runs)
            baseline.log("bench-baseline-ours", payload, base_runs)
        kernel.run('%config CarbonMagics.mlflow_tracking_uri = ""')
    finally:
        kernel.shutdown()
    large = rounds * (large // rounds)
    for experiment, runs in ((f"bench-{small}", small), (f"bench-{sizes[1]}", large)):
        found = search_all(uri, experiment)
        distinct = {tag(r, "mlcost.run_id") for r in found}
        assert len(found) == len(distinct) == runs, (experiment, len(found), len(distinct))
    rate = large / ours_s
    facts, same = baseline.rate("bench-baseline-facts"), baseline.rate("bench-baseline-ours")
    shape = (
        f"{len(payload['metrics'])} metrics, {len(payload['params'])} params, "
        f"{len(payload['create_tags'])} tags"
    )
    return [
        row(
            f"`%carbon sync --all` to a loopback server: {large:,} runs in {rounds} backlogs of "
            f"{large // rounds} ({shape} a run; one kernel)",
            f"{rate:.1f} runs/s ({ours_s:.1f} s)",
            f"`MlflowClient` one run at a time, the same runs (create_run, log_batch, "
            f"set_terminated; {baseline.runs['bench-baseline-ours']} runs between the backlogs) "
            f"{same:.1f} runs/s",
            f"{rate / same:.2f}x",
            "",
        ),
        row(
            "same, against the facts doc's smaller runs (log_batch of 4 metrics, 3 params, 2 tags)",
            f"{rate:.1f} runs/s",
            f"`MlflowClient` {facts:.1f} runs/s (facts doc: ~45 on an idle machine)",
            f"{rate / facts:.2f}x",
            "",
        ),
        row(
            f"same, first sync in the kernel ({small} runs)",
            f"{small / small_s:.1f} runs/s ({small_s:.1f} s)",
            f"{same:.1f} runs/s",
            f"{small / small_s / same:.2f}x",
            "",
        ),
    ]


# -- 4. %carbon table --mlflow ---------------------------------------------------------------------
def bench_table(uri: str, root: Path, sizes: tuple[int, int], warm: int) -> list[str]:
    rows = []
    for size in sizes:
        experiment = f"bench-{size}"
        exp_id = experiment_id(uri, experiment)
        kernel = Kernel(root / f"table-{size}.sqlite", **sharing_env(uri, experiment))
        try:
            cold = kernel.run("%carbon table --mlflow")
            assert kernel.value("len(_)") == size
            assert kernel.value("sorted(_['user'].unique().tolist())")
            warm_s = [kernel.run("%carbon table --mlflow") for _ in range(warm)]
        finally:
            kernel.shutdown()
        search_s = []
        for _ in range(warm):
            started = time.perf_counter()
            found = post(uri, "runs/search", {"experiment_ids": [exp_id], "max_results": size})
            search_s.append(time.perf_counter() - started)
            assert len(found["runs"]) == size
        base = statistics.median(search_s)
        warm_med = statistics.median(warm_s)
        target = "<= 3 s" if size >= 1000 else ""
        rows.append(
            row(
                f"`%carbon table --mlflow`, {size:,} runs, cold (first cell in a fresh kernel, "
                "cell round trip with its display)",
                f"{cold:.2f} s",
                f"server's `runs/search` alone (urllib + json, median of {warm}) {base:.2f} s",
                f"{cold / base:.1f}x",
                target,
            )
        )
        rows.append(
            row(
                f"same, warm (median of {warm} in that kernel)",
                f"{warm_med:.2f} s",
                f"{base:.2f} s",
                f"{warm_med / base:.1f}x",
                target,
            )
        )
    return rows


# -- 5. a simulated class --------------------------------------------------------------------------
def bench_class(uri: str, root: Path, people: int, runs: int) -> list[str]:
    experiment = "bench-class"
    go = root / "class-go"
    folders = [root / f"participant-{i:02d}" for i in range(people)]
    processes: list[subprocess.Popen] = []
    try:
        for i, folder in enumerate(folders):
            folder.mkdir()
            env = {
                **os.environ,
                **{k: v for k, v in sharing_env(uri, experiment).items() if v},
                "MLCOST_LEDGER": str(folder / "ledger.sqlite"),
                "MLCOST_COUNTRY": "FRA",
                "MLCOST_USER": f"participant-{i:02d}",
                "MLCOST_HOSTNAME": f"laptop-{i:02d}",
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(PARTICIPANT), str(folder), str(runs), str(go)],
                    env=env,
                    cwd=folder,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        started = time.monotonic()
        while not all((f / "ready").exists() for f in folders):
            failed = [p for p in processes if p.poll() not in (None, 0)]
            if failed:
                raise RuntimeError(f"a participant failed: {failed[0].stderr.read()[-2000:]}")
            if time.monotonic() - started > 180:
                raise TimeoutError("participants not ready within 180 s")
            time.sleep(0.1)
        ready_s = time.monotonic() - started
        time.sleep(2)  # their pushers have started and made their first (empty) push
        go_at = time.time()
        go.touch()
        results, warned = [], 0
        for process in processes:
            out, err = process.communicate(timeout=300)
            if process.returncode:
                raise RuntimeError(f"a participant failed: {err[-2000:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
            warned += "cannot be used" in err
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    import sqlite3

    local_ids, synced_at = set(), []
    for folder in folders:
        with contextlib.closing(sqlite3.connect(folder / "ledger.sqlite")) as conn:
            local_ids |= {r[0] for r in conn.execute("SELECT run_id FROM runs")}
            synced_at += [r[0] for r in conn.execute("SELECT synced_at FROM mlflow_sync")]
    last_synced_s = max(datetime.fromisoformat(s).timestamp() for s in synced_at if s) - go_at
    last_recorded_s = max(r["ended"] for r in results) - go_at
    found = search_all(uri, experiment)
    server_ids = [tag(r, "mlcost.run_id") for r in found]
    users = {param(r, "user") for r in found}
    hosts = {param(r, "hostname") for r in found}
    expected = people * runs
    on = [s for r in results for s in r["on"]]
    off = [s for r in results for s in r["off"]]
    paired = [a - b for r in results for a, b in zip(r["on"], r["off"], strict=True)]
    errors = sorted({r["state"]["last_error"] for r in results if r["state"]["last_error"]})
    return [
        row(
            f"a simulated class: {people} processes x {runs} runs at once, one server "
            f"(participants ready {ready_s:.0f} s after launch)",
            f"{len(set(server_ids))} distinct `mlcost.run_id` of {len(server_ids)} runs on the "
            f"server, {len(users)} users, {len(hosts)} hosts",
            f"{expected} recorded in the ledgers ({len(local_ids)} distinct)",
            f"{len(set(server_ids) & local_ids)} of {expected} landed, "
            f"{len(server_ids) - len(set(server_ids))} twice",
            f"all {expected}, none twice",
        ),
        row(
            "same: time from 'go' until the last run is synced (a pusher per participant)",
            f"{last_synced_s:.1f} s ({expected / last_synced_s:.1f} runs/s in all)",
            f"last run recorded {last_recorded_s:.1f} s after 'go'",
            "",
            "",
        ),
        row(
            "same: pushers that met an error / participants warned",
            f"{sum(bool(r['state']['last_error']) for r in results)} / {warned}",
            f"errors: {'; '.join(errors) or 'none'}",
            "",
            "",
        ),
        row(
            f"same: added time per `track()` block with MLflow on (p95 of {len(on)}, against "
            "an MLflow-off session in the same processes, alternating)",
            f"{ms(p95(on) - p95(off)):+.2f} ms p95 ({ms(p95(on)):.2f} vs {ms(p95(off)):.2f}); "
            f"median {ms(statistics.median(on) - statistics.median(off)):+.2f} ms",
            f"MLflow off: p95 {ms(p95(off)):.2f} ms, median {ms(statistics.median(off)):.2f} ms",
            f"{p95(on) / p95(off):.2f}x",
            "",
        ),
        row(
            "same, paired (each MLflow-on block minus the MLflow-off block next to it)",
            f"p95 {ms(p95(paired)):+.2f} ms, median {ms(statistics.median(paired)):+.3f} ms",
            f"p5 {ms(statistics.quantiles(paired, n=20, method='inclusive')[0]):+.2f} ms",
            "",
            "",
        ),
    ]


# -- cleanup ---------------------------------------------------------------------------------------
def our_pushers(root: Path) -> list[psutil.Process]:
    """The detached pushers of sessions on ledgers under root (started by this benchmark)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "mlcost_magic.share.pusher" in cmdline and any(str(root) in a for a in cmdline):
            found.append(process)
    return found


def wait_for_pushers(root: Path, timeout_s: float = 20.0) -> int:
    """Pushers exit on their own once their session closes; kill (by PID) any left after."""
    deadline = time.monotonic() + timeout_s
    while our_pushers(root) and time.monotonic() < deadline:
        time.sleep(0.25)
    left = our_pushers(root)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    return len(left)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it works")
    parser.add_argument(
        "--only", default="", help="comma-separated parts: load_ext,cells,sync,table,class"
    )
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    if "table" in only:
        only.add("sync")  # it fills the experiments the table reads
    if args.quick:
        cells, sizes, rounds, base_runs, people, runs, warm, repeats = (
            40,
            (50, 200),
            2,
            10,
            6,
            5,
            3,
            3,
        )
    else:
        cells, sizes, rounds, base_runs, people, runs, warm, repeats = (
            200,
            (100, 1000),
            4,
            25,
            30,
            20,
            5,
            5,
        )
    root = Path(tempfile.mkdtemp(prefix="mlcost-bench-mlflow-"))
    os.environ["MLCOST_COUNTRY"] = "FRA"
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # our baseline client
    from mlcost_magic.tutorials.class_server import ClassServer

    # As a teacher runs it (python -m mlcost_magic.tutorials.class_server): 4 gunicorn
    # workers, no job runner.
    server = ClassServer(root / "server", workers=4, job_execution=False)
    rows: list[str] = []
    began, load_at_start = time.monotonic(), os.getloadavg()
    try:
        started = time.perf_counter()
        server.start()
        log(f"server healthy in {time.perf_counter() - started:.1f} s at {server.uri}")
        log(f"server settled after {settle(server):.1f} s more")
        for name, bench in (
            ("load_ext", lambda: bench_load_ext(server.uri, root, repeats)),
            ("cells", lambda: bench_cells(server.uri, root, cells)),
            ("sync", lambda: bench_sync(server.uri, root, sizes, rounds, base_runs)),
            ("table", lambda: bench_table(server.uri, root, sizes, warm)),
            ("class", lambda: bench_class(server.uri, root, people, runs)),
        ):
            if only and name not in only:
                continue
            started = time.perf_counter()
            rows += bench()
            log(f"{name} done in {time.perf_counter() - started:.0f} s")
    finally:
        left = wait_for_pushers(root)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        log(
            f"stopped the server; {left} pusher(s) had to be killed; "
            f"{time.monotonic() - began:.0f} s"
        )
    print(HEADER)
    for line in rows:
        print(line)
    print(
        f"\n{os.cpu_count()} CPUs; load average (1 min) {load_at_start[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; {time.monotonic() - began:.0f} s in all"
    )


if __name__ == "__main__":
    main()
