"""%%carbon --threads N on real cells: the fit uses N threads, everything is put back after."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import run_cell, session_frame
from threadpoolctl import threadpool_info

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs CPU affinity and at least 2 CPU threads",
)

FIT = (
    "from sklearn.datasets import make_classification\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "X, y = make_classification(n_samples=3000, n_features=20, random_state=0)\n"
    "RandomForestClassifier(n_estimators=60, n_jobs=-1, random_state=0).fit(X, y)"
)


def _pools() -> dict[str, int]:
    return {p["filepath"]: p["num_threads"] for p in threadpool_info()}


def test_one_thread_fit_uses_one_core_and_everything_is_restored(shell):
    affinity, pools = os.sched_getaffinity(0), _pools()
    result = run_cell(shell, f"%%carbon -q one --threads 1\n{FIT};")
    assert result.success
    assert os.sched_getaffinity(0) == affinity
    after = _pools()
    assert {path: after[path] for path in pools} == pools  # the pools there before: as before
    # A pool first loaded inside the cell is sized as if it had loaded outside it.
    assert all(n == len(affinity) for path, n in after.items() if path not in pools)
    run_cell(shell, f"%%carbon -q all\n{FIT};")
    frame = session_frame(shell).set_index("label")
    one, all_threads = frame.loc["one"], frame.loc["all"]
    assert one.threads == 1 and pd.isna(all_threads.threads)
    assert one.cpu_seconds / one.duration_s == pytest.approx(1.0, rel=0.15)
    assert all_threads.cpu_seconds / all_threads.duration_s > 1.2  # both cores when allowed


def test_an_error_still_restores_the_affinity(shell):
    affinity = os.sched_getaffinity(0)
    result = run_cell(shell, "%%carbon --threads 1\nraise ValueError('boom')")
    assert isinstance(result.error_in_exec, ValueError)
    assert os.sched_getaffinity(0) == affinity
    assert list(session_frame(shell).status) == ["error"]


@pytest.mark.parametrize("n", ["999", "0", "-1"])
def test_more_threads_than_the_machine_has_is_refused_and_nothing_runs(shell, n):
    shell.user_ns["cell_ran"] = False
    result = run_cell(shell, f"%%carbon --threads {n}\ncell_ran = True")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "\n" not in str(result.error_in_exec)
    assert shell.user_ns.pop("cell_ran") is False and len(session_frame(shell)) == 0
