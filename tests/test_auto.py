"""Auto mode on real cells: every cell measured, its outcome untouched, %%carbon cells once."""

from __future__ import annotations

from conftest import run_cell, session_frame


def test_auto_mode_measures_every_following_cell_quietly(shell, capsys):
    run_cell(shell, "%carbon auto on")
    assert "auto mode on" in capsys.readouterr().out
    run_cell(shell, "# load the data\nimport time\ntime.sleep(0.12)")
    plain_cell_number = shell.execution_count  # the In[n] of the next cell
    run_cell(shell, "x = 1")
    run_cell(shell, '%%carbon -q "explicit"\ny = 2')  # measures itself: not twice
    run_cell(shell, "%carbon table")  # a command about the ledger: not measured
    run_cell(shell, "%carbon auto off")
    run_cell(shell, "z = 3")  # off: not measured
    out = capsys.readouterr().out
    assert out.count("CO2e") == 1 and "auto mode off; this session: 3 runs" in out  # quietly
    frame = session_frame(shell)
    cells = frame[frame.kind == "cell"]
    assert list(cells.label) == ["load the data", f"cell {plain_cell_number}"]
    assert list(frame.label) == ["load the data", f"cell {plain_cell_number}", "explicit"]
    assert (cells.status == "ok").all() and (cells.energy_kwh > 0).all()
    assert cells.duration_s.iloc[0] >= 0.12


def test_a_failing_cell_fails_as_usual_and_is_recorded_as_error(shell):
    shell.run_line_magic("carbon", "auto on")
    result = run_cell(shell, "raise ValueError('boom')")
    interrupted = run_cell(shell, "raise KeyboardInterrupt")
    shell.run_line_magic("carbon", "auto off")
    assert isinstance(result.error_in_exec, ValueError)
    assert isinstance(interrupted.error_in_exec, KeyboardInterrupt)
    frame = session_frame(shell)
    assert list(frame.status) == ["error", "interrupted"]
    assert "boom" in frame.error.iloc[0]


def test_runs_inside_an_auto_cell_count_once_in_the_total(shell):
    shell.run_line_magic("carbon", "auto on")
    run_cell(
        shell,
        "import mlcost_magic, time\nwith mlcost_magic.track('inner', quiet=True):\n"
        "    time.sleep(0.05)",
    )
    shell.run_line_magic("carbon", "auto off")
    frame = session_frame(shell).set_index("label")
    cell = frame[frame.kind == "cell"].iloc[0]
    assert frame.loc["inner", "parent_run_id"] == cell.run_id
    totals = shell._mlcost_magics.session.totals()
    assert (totals["runs"], totals["cells"]) == (1, 1)
    assert totals["energy_kwh"] == cell.energy_kwh


def test_a_profile_can_turn_auto_on_for_every_kernel(ipython_shell, isolated_env):
    from traitlets.config import Config

    saved = ipython_shell.config
    config = Config(saved)
    config.CarbonMagics.auto = True
    ipython_shell.config = config
    try:
        ipython_shell.run_line_magic("load_ext", "mlcost_magic")
        run_cell(ipython_shell, "a = 1")
        frame = session_frame(ipython_shell)
        assert list(frame.kind) == ["cell"]
    finally:
        ipython_shell.run_line_magic("unload_ext", "mlcost_magic")
        ipython_shell.config = saved
    callbacks = ipython_shell.events.callbacks
    assert not any("AutoMeasure" in repr(c) for c in callbacks["pre_run_cell"])
    assert not any("AutoMeasure" in repr(c) for c in callbacks["post_run_cell"])
