"""Helpers shared by the benchmark scripts: a fresh ledger folder and a quiet CodeCarbon."""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time


def fresh_ledger_env() -> str:
    folder = tempfile.mkdtemp(prefix="mlcost-bench-")
    os.environ["MLCOST_LEDGER"] = os.path.join(folder, "ledger.sqlite")
    os.environ.setdefault("MLCOST_COUNTRY", "FRA")
    os.chdir(folder)
    return folder


def quiet_codecarbon() -> None:
    import codecarbon  # noqa: F401  (its logger exists only after import)

    logging.getLogger("codecarbon").disabled = True


def median_ms(samples_s: list[float]) -> float:
    return statistics.median(samples_s) * 1e3


def row(metric: str, ours: str, baseline: str, ratio: str, target: str) -> str:
    return f"| {metric} | {ours} | {baseline} | {ratio} | {target} |"


HEADER = "| figure | mlcost-magic | baseline | ratio | target |\n|---|---|---|---|---|"


class Kernel:
    """A real Jupyter kernel on a fresh ledger (country FRA), driven through jupyter_client."""

    def __init__(self, ledger) -> None:
        from jupyter_client.manager import KernelManager

        env = dict(os.environ, MLCOST_LEDGER=str(ledger), MLCOST_COUNTRY="FRA")
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    @property
    def pid(self) -> int:
        return self.manager.provisioner.process.pid

    def execute(self, code: str, expressions: dict | None = None, timeout_s: float = 120):
        """Send, wait for the reply; (reply content, sent at, received at) in time.time()."""
        sent = time.time()
        msg_id = self.client.execute(code, user_expressions=expressions or {})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                reply = self.client.get_shell_msg(timeout=1)
            except Exception:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                received = time.time()
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"{code!r} failed: {reply['content']}")
                return reply["content"], sent, received
        raise TimeoutError(code)

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
