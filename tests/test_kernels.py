"""Real Jupyter kernels: Ctrl-C, a killed kernel, two kernels writing one ledger at once."""

from __future__ import annotations

import os
import signal
import time

import pytest
from jupyter_client.manager import KernelManager

from mlcost_magic.measure.settings import Settings
from mlcost_magic.session import Session
from mlcost_magic.store.ledger import Ledger

pytestmark = pytest.mark.slow


class Kernel:
    def __init__(self, ledger_path):
        env = dict(os.environ, MLCOST_LEDGER=str(ledger_path), MLCOST_COUNTRY="FRA")
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def submit(self, code: str) -> str:
        return self.client.execute(code)

    def reply(self, msg_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_shell_msg(timeout=1)
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        raise TimeoutError(f"no reply within {timeout} s")

    def run(self, code: str, timeout: float = 60) -> dict:
        return self.reply(self.submit(code), timeout)

    def shutdown(self) -> None:
        self.client.stop_channels()
        if self.manager.is_alive():
            self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel(ledger_path):
    k = Kernel(ledger_path)
    yield k
    k.shutdown()


def test_interrupt_propagates_and_the_run_is_interrupted(kernel, ledger_path):
    assert kernel.run("%load_ext mlcost_magic")["status"] == "ok"
    msg_id = kernel.submit("%%carbon waiting\nimport time\ntime.sleep(30)")
    time.sleep(1.5)
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(msg_id)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    row = Ledger(ledger_path).read_runs().iloc[-1]
    assert (row.label, row.status) == ("waiting", "interrupted")
    assert 1.0 < row.duration_s < 10 and row.energy_kwh > 0


def test_killed_kernel_keeps_earlier_runs_and_shows_the_killed_one_lost(kernel, ledger_path):
    assert kernel.run("%load_ext mlcost_magic")["status"] == "ok"
    assert kernel.run("%%carbon first\nx = 1")["status"] == "ok"
    kernel.submit("%%carbon killed\nimport time\ntime.sleep(30)")
    time.sleep(1.5)
    kernel.manager.signal_kernel(signal.SIGKILL)  # as the OOM killer or `kill -9` would
    time.sleep(0.5)
    session = Session(Settings(ledger_path=ledger_path))  # the next session finds it lost
    frame = session.read_runs(all_sessions=True)
    session.close()
    assert list(zip(frame.label, frame.status, strict=False)) == [
        ("first", "ok"),
        ("killed", "lost"),
    ]
    assert frame.country_iso_code[0] == "FRA"


def test_two_kernels_writing_300_runs_each_at_once(ledger_path):
    kernels = [Kernel(ledger_path), Kernel(ledger_path)]
    try:
        code = (
            "%load_ext mlcost_magic\n"
            "import mlcost_magic\n"
            "for i in range(300):\n"
            "    with mlcost_magic.track(f'KID {i}', quiet=True) as run:\n"
            "        run.log_metric('i', i)\n"
        )
        ids = [k.submit(code.replace("KID", f"k{n}")) for n, k in enumerate(kernels)]
        for k, msg_id in zip(kernels, ids, strict=False):
            reply = k.reply(msg_id, timeout=120)
            assert reply["status"] == "ok", reply.get("traceback")
    finally:
        for k in kernels:
            k.shutdown()
    frame = Ledger(ledger_path).read_runs()
    assert len(frame) == 600 and set(frame.status) == {"ok"}
    assert frame.session_id.nunique() == 2
    assert sorted(frame.i[frame.label.str.startswith("k1 ")]) == list(range(300))


def test_no_thread_of_ours_outlives_a_tracked_cell(kernel):
    assert kernel.run("%load_ext mlcost_magic\nimport threading, time")["status"] == "ok"
    # 1.2 s: long enough for the live meter thread to start and refresh.
    assert (
        kernel.run("%%carbon -o r\ntime.sleep(1.2)\nlive = threading.enumerate()")["status"] == "ok"
    )
    code = (
        "during = [t.name for t in live if t.name.startswith('mlcost')]\n"
        "after = [t.name for t in threading.enumerate() if t.name.startswith('mlcost')]\n"
        "assert during == ['mlcost-live-meter'], during\n"
        "assert after == [], after\n"
        "assert r.status == 'ok'"
    )
    reply = kernel.run(code)
    assert reply["status"] == "ok", reply.get("evalue")
