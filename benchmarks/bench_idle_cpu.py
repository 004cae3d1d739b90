"""CPU the tool itself uses during an idle 10 s cell, in a real Jupyter kernel (live meter on):
the kernel's CPU time (time.process_time, all its threads) across `%%carbon` around
`time.sleep(10)` minus the same across a plain sleep cell, measured in the same kernel."""

from __future__ import annotations

import os
import statistics
import sys
import time

from _common import HEADER, fresh_ledger_env, row
from jupyter_client.manager import KernelManager

SLEEP_S = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0


def main() -> None:
    fresh_ledger_env()
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=dict(os.environ))
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)

    def run(code: str) -> None:
        client.execute_interactive(code, timeout=SLEEP_S + 60, output_hook=lambda msg: None)

    def kernel_cpu_s(cell: str) -> float:
        """The kernel process's CPU time (all threads, ns resolution) across one cell."""
        run("_cpu0 = time.process_time()")
        run(cell)
        run("_cpu1 = time.process_time()")
        reply = client.execute_interactive(
            "", user_expressions={"d": "_cpu1 - _cpu0"}, timeout=60, output_hook=lambda m: None
        )
        return float(reply["content"]["user_expressions"]["d"]["data"]["text/plain"])

    try:
        run("%load_ext mlcost_magic\nimport time")
        run("%%carbon warm\ntime.sleep(1)")
        plain_s = statistics.median(kernel_cpu_s(f"time.sleep({SLEEP_S})") for _ in range(3))
        tracked_s = statistics.median(
            kernel_cpu_s(f"%%carbon idle\ntime.sleep({SLEEP_S})") for _ in range(3)
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    ours_pct = max(tracked_s - plain_s, 0.0) / SLEEP_S * 100
    print(HEADER)
    print(
        row(
            f"CPU used by the tool during an idle {SLEEP_S:g} s cell (live meter on, median of 3)",
            f"{ours_pct:.3f} % of a core",
            f"plain cell: kernel {plain_s * 1e3:.1f} ms CPU",
            f"tracked cell: kernel {tracked_s * 1e3:.1f} ms CPU",
            "< 0.5 %",
        )
    )


if __name__ == "__main__":
    time.sleep(0)
    main()
