"""--max-co2 / --max-energy / --max-duration stop a real cell at its limit: the user's finally
blocks run, the run is 'capped' with what it used, and the kernel answers the next cell."""

from __future__ import annotations

import time

import pytest
from conftest import run_cell, session_frame

from mlcost_magic.caps import CapReached, parse_duration, parse_limits

LOOP = (
    "import time\ncleaned = False\ntry:\n    end = time.time() + 30\n"
    "    while time.time() < end:\n        sum(range(10_000))\n"
    "finally:\n    cleaned = True"
)


def test_a_duration_cap_stops_a_30_s_loop_within_2_s_of_the_limit(shell, capsys):
    started = time.monotonic()
    result = run_cell(shell, f"%%carbon loop --max-duration 1s\n{LOOP}")
    elapsed = time.monotonic() - started
    assert isinstance(result.error_in_exec, CapReached)
    assert isinstance(result.error_in_exec, KeyboardInterrupt)  # `except Exception` won't eat it
    assert elapsed < 1 + 2
    assert shell.user_ns["cleaned"] is True  # the user's finally ran
    row = session_frame(shell).iloc[-1]
    assert row.status == "capped" and row.energy_kwh > 0
    assert row.error == "--max-duration 1.00 s reached"
    assert "loop · capped (--max-duration 1.00 s reached)" in capsys.readouterr().out
    assert run_cell(shell, "after = 1 + 1").success and shell.user_ns["after"] == 2


def test_an_energy_cap_stops_a_busy_loop(shell):
    started = time.monotonic()
    result = run_cell(shell, f"%%carbon -q --max-energy 1mWh\n{LOOP}")  # 4 W/thread: ~1 s
    assert isinstance(result.error_in_exec, CapReached)
    assert time.monotonic() - started < 10
    row = session_frame(shell).iloc[-1]
    assert row.status == "capped" and row.energy_kwh >= 1e-6 * 0.9


def test_a_limit_not_reached_changes_nothing(shell):
    result = run_cell(shell, "%%carbon -q --max-co2 1kg --max-duration 1h\nx = sum(range(1000))")
    assert result.success
    assert session_frame(shell).iloc[-1].status == "ok"


@pytest.mark.parametrize(
    "line", ["--max-co2 10Wh", "--max-energy 1g", "--max-duration soon", "--max-co2 -1g"]
)
def test_bad_limits_are_refused_in_one_line_and_nothing_runs(shell, line):
    shell.user_ns["cell_ran"] = False
    result = run_cell(shell, f"%%carbon {line}\ncell_ran = True")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "\n" not in str(result.error_in_exec) and shell.user_ns.pop("cell_ran") is False
    assert len(session_frame(shell)) == 0


def test_limit_parsing():
    assert parse_duration("10m") == 600 and parse_duration("1.5h") == 5400
    assert parse_duration("250ms") == pytest.approx(0.25)
    limits = parse_limits("1g", "10Wh", "30s")
    assert (limits.emissions_kg, limits.energy_kwh, limits.duration_s) == (1e-3, 1e-2, 30.0)
