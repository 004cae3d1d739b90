"""CPU the tool itself uses during an idle 10 s cell, in a real Jupyter kernel (live meter on):
kernel CPU time of `%%carbon` around `time.sleep(10)` minus that of a plain sleep cell."""

from __future__ import annotations

import os
import sys
import time

import psutil
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
    process = psutil.Process(manager.provisioner.process.pid)

    def kernel_cpu_s(code: str) -> float:
        before = process.cpu_times()
        client.execute_interactive(code, timeout=SLEEP_S + 60, output_hook=lambda msg: None)
        after = process.cpu_times()
        return (after.user + after.system) - (before.user + before.system)

    try:
        kernel_cpu_s("%load_ext mlcost_magic\nimport time")
        kernel_cpu_s("%%carbon warm\ntime.sleep(1)")
        plain_s = kernel_cpu_s(f"time.sleep({SLEEP_S})")
        tracked_s = kernel_cpu_s(f"%%carbon idle\ntime.sleep({SLEEP_S})")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    ours_pct = max(tracked_s - plain_s, 0.0) / SLEEP_S * 100
    print(HEADER)
    print(
        row(
            f"CPU used by the tool during an idle {SLEEP_S:g} s cell (live meter on)",
            f"{ours_pct:.3f} % of a core",
            f"plain cell {plain_s / SLEEP_S * 100:.3f} %",
            f"{tracked_s / max(plain_s, 1e-9):.2f}x the plain cell's kernel CPU",
            "< 0.5 %",
        )
    )


if __name__ == "__main__":
    time.sleep(0)
    main()
