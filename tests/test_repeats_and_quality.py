"""Repeats with their spread, the quality note on every run, the session's footprint, and the
ledger's schema upgrade: on real %%carbon cells in a real shell."""

from __future__ import annotations

import math
import sqlite3

import pytest
from conftest import run_cell, session_frame

from mlcost_magic.compare.aggregate import spread, t_critical_95
from mlcost_magic.compare.comparison import compare
from mlcost_magic.store.ledger import Ledger
from mlcost_magic.store.schema import SCHEMA_VERSION


def test_repeat_runs_warmup_plus_n_and_records_n_as_one_group(shell, capsys):
    shell.user_ns["calls"] = []
    result = run_cell(
        shell,
        '%%carbon "Sleepy" --repeat 4 --warmup 1 --metric accuracy=acc -o group\n'
        "import time\ncalls.append(1)\ntime.sleep(0.12)\nacc = 0.5 + 0.1 * len(calls)",
    )
    assert result.success
    assert len(shell.user_ns["calls"]) == 5  # 1 warm-up + 4 measured
    frame = session_frame(shell)
    assert list(frame.label) == ["Sleepy"] * 4
    assert frame.group_id.nunique() == 1 and frame.group_id.notna().all()
    assert list(frame["repeat"]) == [1, 2, 3, 4]
    assert list(frame.accuracy) == pytest.approx([0.7, 0.8, 0.9, 1.0])  # after each repeat
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "4 repeats (+1 warm-up)" in printed[0]
    assert "±" in printed[0] and "95 % CI" in printed[0]
    group = shell.user_ns["group"]
    assert group.n == 4 and len(group.runs) == 4
    energies = [r.measurement.energy_kwh for r in group.runs]
    assert group.energy_kwh.mean == pytest.approx(sum(energies) / 4)
    low, high = group.energy_kwh.ci95
    assert low < group.energy_kwh.mean < high
    assert group.duration_s.sd >= 0 and group.emissions_kg.n == 4
    assert "Sleepy" in repr(group)


def test_an_error_in_a_repeat_stops_the_loop_and_is_recorded(shell):
    shell.user_ns["calls"] = []
    result = run_cell(
        shell,
        "%%carbon Flaky --repeat 5\ncalls.append(1)\n"
        "if len(calls) == 3:\n    raise ValueError('third time')",
    )
    assert isinstance(result.error_in_exec, ValueError)
    assert len(shell.user_ns["calls"]) == 3
    frame = session_frame(shell)
    assert list(frame.status) == ["ok", "ok", "error"]
    assert list(frame["repeat"]) == [1, 2, 3]


def test_ctrl_c_in_a_repeat_propagates_and_is_interrupted(shell):
    shell.user_ns["calls"] = []
    result = run_cell(
        shell,
        "%%carbon --repeat 4\ncalls.append(1)\nif len(calls) == 2:\n    raise KeyboardInterrupt",
    )
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert list(session_frame(shell).status) == ["ok", "interrupted"]


@pytest.mark.parametrize("line", ["--repeat 0", "--repeat -2", "--warmup -1", "--repeat x"])
def test_bad_repeat_counts_are_refused_in_one_line(shell, line):
    result = run_cell(shell, f"%%carbon {line}\npass")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "\n" not in str(result.error_in_exec)
    assert len(session_frame(shell)) == 0


def test_repeat_in_python_groups_runs_and_logs_returned_metrics(shell):
    import mlcost_magic

    group = mlcost_magic.repeat("fit", 3, lambda: {"accuracy": 0.75}, warmup=1, quiet=True)
    frame = session_frame(shell)
    assert list(frame.accuracy) == [0.75] * 3 and frame.group_id.nunique() == 1
    assert group.metrics["accuracy"].mean == 0.75


def test_a_group_is_one_table_row_with_n_and_spread(shell):
    run_cell(shell, "%%carbon -q single\nimport time\ntime.sleep(0.11)")
    run_cell(shell, "%%carbon -q grouped --repeat 3\nimport time\ntime.sleep(0.11)")
    comparison = compare(shell._mlcost_magics.session.read_runs())
    rows = comparison.table_rows
    assert list(rows.label) == ["single", "grouped"]
    assert list(rows.n) == [1, 3]
    grouped = comparison.frame[comparison.frame.label == "grouped"]
    assert rows.emissions_kg.iloc[1] == pytest.approx(grouped.emissions_kg.mean())
    assert rows.emissions_kg_sd.iloc[1] == pytest.approx(grouped.emissions_kg.std())
    from mlcost_magic.views.table import text_table

    header = text_table(comparison).splitlines()[0]
    assert " n " in f" {header} " and "CO2 sd" in header


def test_quality_notes_short_runs_and_marks_estimates(shell, capsys):
    run_cell(shell, "%%carbon blink\npass")
    run_cell(shell, "%%carbon nap\nimport time\ntime.sleep(0.15)")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith("estimated · short run: use --repeat 10")
    assert lines[1].endswith("estimated")  # no RAPL here: an estimate, said by the basis
    frame = session_frame(shell)
    assert list(frame.quality) == ["short", "estimate"]
    assert "10 ms ticks" in frame.quality_reason[0] and "TDP model" in frame.quality_reason[1]


def test_a_group_whose_energy_varies_is_noisy(shell):
    shell.user_ns["naps"] = iter([0.12, 0.4, 0.12, 0.4])
    run_cell(shell, "%%carbon -q wobbly --repeat 4\nimport time\ntime.sleep(next(naps))")
    frame = session_frame(shell)
    assert set(frame.quality) == {"noisy"}
    assert "across 4 repeats" in frame.quality_reason[0]
    with sqlite3.connect(shell._mlcost_magics.session.ledger.path) as conn:
        stored = {q for (q,) in conn.execute("SELECT quality FROM runs")}
    assert stored == {"noisy"}


def test_status_shows_the_session_footprint_and_nested_runs_count_once(shell, capsys):
    run_cell(
        shell,
        "%%carbon -q outer\nimport time, mlcost_magic\ntime.sleep(0.1)\n"
        "with mlcost_magic.track('inner', quiet=True):\n    time.sleep(0.1)",
    )
    frame = session_frame(shell).set_index("label")
    assert frame.loc["inner", "parent_run_id"] == frame.loc["outer", "run_id"]
    totals = shell._mlcost_magics.session.totals()
    assert totals["runs"] == 1
    assert totals["energy_kwh"] == pytest.approx(frame.loc["outer", "energy_kwh"])
    run_cell(shell, "%carbon status")
    assert "this session: 1 run," in capsys.readouterr().out


def test_a_version_1_ledger_is_upgraded_in_place_and_keeps_its_runs(ledger_path):
    with sqlite3.connect(ledger_path) as conn:  # the 0.1 schema, one run in it
        conn.executescript(
            "CREATE TABLE sessions (session_id TEXT PRIMARY KEY, started_at TEXT, hostname TEXT,"
            " pid INTEGER, pid_started_at REAL, cwd TEXT, mlcost_version TEXT,"
            " codecarbon_version TEXT);"
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, session_id TEXT, label TEXT, kind TEXT,"
            " status TEXT, started_at TEXT, ended_at TEXT, duration_s REAL, cpu_seconds REAL,"
            " ram_gb REAL, energy_kwh REAL, cpu_energy_kwh REAL, ram_energy_kwh REAL,"
            " gpu_energy_kwh REAL, emissions_kg REAL, carbon_intensity_g_per_kwh REAL,"
            " intensity_source TEXT, country_iso_code TEXT, country_name TEXT, pue REAL,"
            " method TEXT, cpu_power_w_per_thread REAL, ram_power_w_per_gb REAL, hostname TEXT,"
            " cpu_model TEXT, cpu_count INTEGER, gpu_model TEXT, inferences INTEGER, tags TEXT,"
            " error TEXT, metrics TEXT);"
            "INSERT INTO runs (run_id, session_id, label, status, started_at, energy_kwh,"
            " tags, metrics) VALUES ('r1', 's1', 'old run', 'ok', '2026-01-01T00:00:00+00:00',"
            " 1e-6, '{}', '{\"accuracy\": 0.9}');"
            "PRAGMA user_version = 1;"
        )
    ledger = Ledger(ledger_path)
    frame = ledger.read_runs()
    ledger.close()
    assert list(frame.label) == ["old run"] and frame.accuracy[0] == 0.9
    assert frame.quality.isna().all() and "group_id" in frame.columns
    with sqlite3.connect(ledger_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(runs)")}
    assert columns["model_size"] == "INTEGER" and "model_size" in frame.columns


def test_spread_arithmetic_against_the_t_table():
    assert t_critical_95(4) == pytest.approx(2.776, abs=1e-3)
    assert t_critical_95(31) == pytest.approx(2.0395, abs=1e-3)  # past the table
    assert t_critical_95(1000) == pytest.approx(1.9623, abs=1e-3)
    s = spread([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (s.mean, s.n) == (3.0, 5) and s.sd == pytest.approx(math.sqrt(2.5))
    half = 2.776 * math.sqrt(2.5) / math.sqrt(5)
    assert s.ci95 == pytest.approx((3.0 - half, 3.0 + half), abs=1e-3)
    one = spread([2.0])
    assert one.mean == 2.0 and math.isnan(one.sd) and math.isnan(one.cv)
