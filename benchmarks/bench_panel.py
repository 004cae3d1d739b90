"""A displayed panel must never hold up the kernel: measured in a real kernel through
jupyter_client, the way a user waits, at 100 and 1,000 runs in the session, with the other
core idle and then busy.

For each of 10 samples, with and without a displayed panel (the baseline, same kernel, same
cell):
  * added return time: a ``%%carbon -q`` cell whose body ends by reading the clock; the
    figure is the time from that moment to the client receiving the execute reply;
  * next-cell start: a plain cell sent the moment that reply arrives; the figure is the time
    from sending it to its first statement running;
  * figure shown: the time from the end of the tracked cell's body to the kernel sending the
    figure widget's new value (iopub comm message, header date).

    .venv/bin/python benchmarks/bench_panel.py [--samples 10] [--sizes 100 1000] [--no-load]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

TARGET_ADDED_MS = 50
TARGET_FIGURE_S = 1.0
PROBE = "%%carbon -q probe --metric accuracy=0.8\n_t_body_end = time.time()"
NEXT = "_t_next_start = time.time()"


class Kernel(_common.Kernel):
    def value(self, content: dict, name: str) -> str:
        return content["user_expressions"][name]["data"]["text/plain"]

    def figure_update_after(self, comm_id: str, after: float, timeout_s: float) -> float | None:
        """The kernel's send time of the first figure update sent after `after`, or None."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=0.1)
            except Exception:
                continue
            if msg["msg_type"] != "comm_msg" or msg["content"].get("comm_id") != comm_id:
                continue
            data = msg["content"].get("data", {})
            paths = data.get("buffer_paths", [])
            if data.get("method") == "update" and (
                ["value"] in paths or "value" in data.get("state", {})
            ):
                sent_at = msg["header"]["date"].timestamp()
                if sent_at > after:
                    return sent_at
        return None

    def drain_iopub(self) -> None:
        while True:
            try:
                self.client.get_iopub_msg(timeout=0.05)
            except Exception:
                return


def populate(kernel: Kernel, runs: int) -> None:
    code = (
        "import random as _r\n"
        f"for _i in range({runs}):\n"
        "    with mlcost_magic.track(f'model-{_i % 10}', quiet=True) as _run:\n"
        "        _run.log_metric('accuracy', 0.7 + 0.02 * (_i % 10) + _r.uniform(-0.01, 0.01))\n"
    )
    kernel.execute(code, timeout_s=600)


def sample(kernel: Kernel, comm_id: str | None) -> tuple[float, float, float | None]:
    """(added return ms, next-cell start ms, figure shown s or None) for one probe cell."""
    content, _sent, received = kernel.execute(PROBE, {"end": "_t_body_end"})
    body_end = float(kernel.value(content, "end"))
    content, sent_next, _ = kernel.execute(NEXT, {"start": "_t_next_start"})
    next_start = float(kernel.value(content, "start"))
    figure_s = None
    if comm_id is not None:
        shown = kernel.figure_update_after(comm_id, body_end, timeout_s=10)
        figure_s = None if shown is None else shown - body_end
    kernel.drain_iopub()
    return (received - body_end) * 1e3, (next_start - sent_next) * 1e3, figure_s


def measure(kernel: Kernel, samples: int, comm_id: str | None) -> list[tuple]:
    sample(kernel, comm_id)  # warm-up
    return [sample(kernel, comm_id) for _ in range(samples)]


def busy_core() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_scenario(sizes: list[int], samples: int, loaded: bool) -> list[tuple]:
    folder = Path(tempfile.mkdtemp(prefix="mlcost-bench-panel-"))
    kernel = Kernel(folder / "ledger.sqlite")
    load = busy_core() if loaded else None
    rows = []
    try:
        kernel.execute("%load_ext mlcost_magic\nimport time, mlcost_magic")
        recorded = 0
        for size in sizes:
            populate(kernel, size - recorded)
            plain = measure(kernel, samples, None)
            content, _, _ = kernel.execute(
                "%carbon panel", {"id": "get_ipython()._mlcost_magics._panels[-1].figure.model_id"}
            )
            comm_id = kernel.value(content, "id").strip("'")
            kernel.drain_iopub()
            with_panel = measure(kernel, samples, comm_id)
            content, _, _ = kernel.execute(
                "get_ipython()._mlcost_magics._panels.pop().close()",
                {"n": "len(get_ipython()._mlcost_magics.session.read_runs())"},
            )
            recorded = int(kernel.value(content, "n"))
            rows.append((size, plain, with_panel))
    finally:
        if load is not None:
            load.kill()
            load.wait()
        kernel.shutdown()
    return rows


def report(rows: list[tuple], loaded: bool) -> None:
    state = "other core busy" if loaded else "idle"
    for size, plain, with_panel in rows:
        added = [p[0] for p in with_panel]
        base = [p[0] for p in plain]
        start = [p[1] for p in with_panel]
        start_base = [p[1] for p in plain]
        figures = [p[2] for p in with_panel]
        missed = sum(f is None for f in figures)
        shown = [f for f in figures if f is not None]
        added_ms = statistics.median(added) - statistics.median(base)
        start_ms = statistics.median(start) - statistics.median(start_base)
        figure_text = (
            f"{statistics.median(shown):.2f} s (max {max(shown):.2f})" if shown else "never"
        )
        if missed:
            figure_text += f", {missed} of {len(figures)} not shown within 10 s"
        print(
            f"| {size} runs, {state} | return {statistics.median(added):.1f} ms vs "
            f"{statistics.median(base):.1f} ms without panel: **+{added_ms:.1f} ms** "
            f"| next cell starts {statistics.median(start):.1f} ms vs "
            f"{statistics.median(start_base):.1f} ms: **+{start_ms:.1f} ms** "
            f"| figure shows the run after {figure_text} "
            f"| <= {TARGET_ADDED_MS} ms, <= {TARGET_ADDED_MS} ms, <= {TARGET_FIGURE_S:g} s |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--no-load", action="store_true", help="skip the busy-core scenario")
    args = parser.parse_args()
    print(
        "| panel displayed (medians of "
        f"{args.samples}) | `%%carbon -q` return, added | next cell start, added "
        "| figure shows the new run | targets |"
    )
    print("|---|---|---|---|---|")
    report(run_scenario(args.sizes, args.samples, loaded=False), loaded=False)
    if not args.no_load:
        report(run_scenario(args.sizes, args.samples, loaded=True), loaded=True)


if __name__ == "__main__":
    main()
