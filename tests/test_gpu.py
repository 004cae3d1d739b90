"""GPU energy from NVML counters: only where an NVIDIA GPU is visible (skipped elsewhere)."""

from __future__ import annotations

import time

import pytest

from mlcost_magic.measure.hardware import detect_gpus
from mlcost_magic.measure.settings import Settings
from mlcost_magic.session import Session

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(detect_gpus() is None, reason="no NVIDIA GPU with an energy counter"),
]


def test_gpu_energy_is_read_from_nvml_counters(ledger_path):
    session = Session(Settings(ledger_path=ledger_path))
    assert session.meter.method.endswith("+nvml")
    with session.track("gpu idle", quiet=True) as run:
        time.sleep(1.0)
    # An idle datacentre GPU still draws tens of watts: one second is well above zero and
    # below its board power limit (1 kW is far above any single GPU).
    gpu_j = run.measurement.gpu_energy_kwh * 3.6e6
    assert 1.0 < gpu_j < 1000.0 * session.hardware.gpus.count
    assert "GPU" in run.summary() and "NVML measured" in run.summary()
    session.close()
