"""%%carbon and %carbon in a real IPython shell, with real CodeCarbon data and real counters."""

from __future__ import annotations

import linecache
import math

import pytest
from conftest import run_cell, session_frame


def test_cell_runs_like_a_normal_cell_and_is_recorded(shell, capsys):
    result = run_cell(
        shell,
        '%%carbon "Small RF" --tag size=small --metric accuracy=score\nscore = 0.75\nscore * 2',
    )
    assert result.error_in_exec is None
    assert result.result == 1.5  # the last expression is still Out[n]
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("Small RF · ") and "CO2e at 475 g/kWh (world average" in line
    # A millisecond cell: the line says how far to trust it, and what to do.
    assert "accuracy 0.750" in line and line.endswith("estimated · short run: use --repeat 10")
    frame = session_frame(shell)
    row = frame.iloc[-1]
    assert row.quality == "short"
    assert (row.label, row.status, row.accuracy) == ("Small RF", "ok", 0.75)
    assert row.tags == {"size": "small"}
    assert row.method == "estimate:tdp-4W/thread"  # this machine's CPU is not in the TDP table
    assert math.isclose(
        row.energy_kwh, row.cpu_energy_kwh + row.ram_energy_kwh + row.gpu_energy_kwh
    )
    assert row.emissions_kg == pytest.approx(row.energy_kwh * 475 / 1000)


def test_unquoted_label_default_label_and_semicolon(shell, capsys):
    result = run_cell(shell, "%%carbon Large forest -q\n41 + 1;")
    assert result.result is None  # a trailing ';' silences Out[n]
    assert capsys.readouterr().out == ""  # -q: no summary line
    result = run_cell(shell, "%%carbon -q\n7")
    assert result.result == 7
    labels = list(session_frame(shell).label)
    assert labels == ["Large forest", f"cell {result.execution_count}"]


def test_user_exception_propagates_and_run_is_recorded_as_error(shell):
    result = run_cell(shell, '%%carbon failing\ndef f():\n    raise ValueError("boom")\nf()')
    error = result.error_in_exec
    assert isinstance(error, ValueError) and str(error) == "boom"
    tb = error.__traceback__
    while tb.tb_next:
        tb = tb.tb_next
    # The traceback points at the user's own line, numbered as the user sees the cell.
    assert tb.tb_lineno == 3
    assert (
        linecache.getline(tb.tb_frame.f_code.co_filename, 3).strip() == 'raise ValueError("boom")'
    )
    row = session_frame(shell).iloc[-1]
    assert (row.label, row.status, row.error) == ("failing", "error", "ValueError: boom")


def test_keyboard_interrupt_propagates_and_run_is_interrupted(shell):
    result = run_cell(shell, "%%carbon stopped\nx = sum(range(10**5))\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    row = session_frame(shell).iloc[-1]
    assert row.status == "interrupted" and row.cpu_seconds > 0 and row.energy_kwh > 0


@pytest.mark.parametrize(
    "line, message",
    [
        ("--bogus", "unrecognized arguments"),
        ("--tag novalue", "--tag must look like NAME=VALUE"),
        ("--metric =expr", "--metric must look like NAME=VALUE"),
        ("--metric acc=", "--metric must look like NAME=VALUE"),
        ("--metric acc=1+", "--metric acc=1+"),
        ("-o", "expected one argument"),
        ("-o 1x", "-o needs a variable name"),
    ],
)
def test_bad_arguments_give_one_line_usage_error_and_record_nothing(shell, line, message):
    from IPython.core.error import UsageError

    result = run_cell(shell, f"%%carbon {line}\nran = True")
    error = result.error_in_exec or result.error_before_exec
    assert isinstance(error, UsageError) and message in str(error)
    assert "\n" not in str(error).strip()
    assert "ran" not in shell.user_ns
    assert session_frame(shell).empty


def test_failing_metric_expression_warns_and_keeps_the_run(shell):
    from mlcost_magic.errors import MetricWarning

    with pytest.warns(MetricWarning) as caught:
        result = run_cell(shell, "%%carbon -q --metric acc=missing_name --metric n=text\ntext='x'")
    messages = [str(w.message) for w in caught]
    assert any("--metric acc=missing_name failed (NameError" in m for m in messages)
    assert any("--metric n=text failed (ValueError" in m for m in messages)
    assert result.error_in_exec is None
    frame = session_frame(shell)
    assert len(frame) == 1 and frame.status[0] == "ok"
    assert "acc" not in frame.columns and "n" not in frame.columns


def test_output_variable_and_log_metric_inside_the_cell(shell):
    run_cell(shell, "%%carbon -q -o run\nimport mlcost_magic\nmlcost_magic.log_metric('f1', 0.5)")
    run = shell.user_ns["run"]
    assert run.status == "ok" and run.metrics == {"f1": 0.5}
    assert run.energy_kwh > 0 and run.summary().startswith("cell ")


def test_track_inside_a_notebook_uses_the_extension_session(shell):
    run_cell(
        shell,
        "import mlcost_magic\nfor n in (1, 2, 3):\n"
        "    with mlcost_magic.track(f'size {n}', quiet=True) as run:\n"
        "        run.log_metric('accuracy', n / 10)",
    )
    frame = session_frame(shell)
    assert list(frame.label) == ["size 1", "size 2", "size 3"]
    assert list(frame.accuracy) == [0.1, 0.2, 0.3]


def test_table_status_and_export(shell, capsys, isolated_env):
    import pandas as pd

    run_cell(shell, "%%carbon -q A\npass")
    table = run_cell(shell, "%carbon table").result
    assert list(table.label) == ["A"]
    run_cell(shell, "%carbon status")
    status = capsys.readouterr().out
    assert "estimate: 4 W per busy thread" in status and str(isolated_env) in status
    assert "475 g CO2e/kWh, world average" in status
    run_cell(shell, f"%carbon export {isolated_env / 'runs.csv'}")
    csv = pd.read_csv(isolated_env / "runs.csv")
    assert csv.project_name.tolist() == ["A"] and "energy_consumed" in csv.columns
    bad = run_cell(shell, f"%carbon export {isolated_env / 'runs.xlsx'}")
    assert "must end in .csv or .json" in str(bad.error_in_exec)
    assert "invalid choice" in str(run_cell(shell, "%carbon frobnicate").error_in_exec)


def test_config_country_and_bad_country(shell):
    from traitlets import TraitError

    magics = shell._mlcost_magics
    magics.country_iso_code = "FRA"
    run = shell.run_cell("%%carbon -q -o r\npass") and shell.user_ns["r"]
    assert run.measurement.country_iso_code == "FRA"
    assert run.measurement.carbon_intensity_g_per_kwh == pytest.approx(56.039)
    with pytest.raises(TraitError, match="unknown country ISO code 'XYZ'"):
        magics.country_iso_code = "XYZ"
    assert magics.country_iso_code == "FRA"  # the bad value was not kept


def test_a_run_keeps_the_country_it_was_measured_in_after_config_changes(shell, capsys):
    try:
        shell.run_line_magic("config", "CarbonMagics.country_iso_code = 'FRA'")
        run_cell(shell, "%%carbon -q -o r\npass")
        run = shell.user_ns["r"]
        shell.run_line_magic("config", "CarbonMagics.country_iso_code = 'POL'")
    finally:
        shell.config.pop("CarbonMagics", None)  # %config writes the shell's config: undo
    assert "g/kWh (FRA)" in run.summary() and "POL" not in run.summary()
    assert run.measurement.carbon_intensity_g_per_kwh == pytest.approx(56.039)
    with pytest.raises(RuntimeError, match="has ended"):
        run.log_metric("accuracy", 0.5)  # the record is fixed: it would never reach the ledger
    run_cell(shell, "%carbon status")
    assert "Poland (POL)" in capsys.readouterr().out


def test_every_warning_of_ours_is_caught_by_one_filter(shell):
    import warnings

    from mlcost_magic import MlcostWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_cell(shell, "%%carbon -q --metric accuracy=1/0\npass")
    assert caught and all(issubclass(w.category, MlcostWarning) for w in caught)


def _intensity_at_load(shell):
    shell.run_line_magic("load_ext", "mlcost_magic")
    try:
        return shell._mlcost_magics.session.meter.constants.intensity
    finally:
        shell.run_line_magic("unload_ext", "mlcost_magic")


def test_env_country_and_codecarbon_config_are_honoured(ipython_shell, monkeypatch, isolated_env):
    (isolated_env / ".codecarbon.config").write_text("[codecarbon]\ncountry_iso_code = DEU\n")
    intensity = _intensity_at_load(ipython_shell)
    assert intensity.country_iso_code == "DEU" and ".codecarbon.config" in intensity.source
    monkeypatch.setenv("CODECARBON_COUNTRY_ISO_CODE", "GBR")  # CodeCarbon's env beats its file
    intensity = _intensity_at_load(ipython_shell)
    assert intensity.country_iso_code == "GBR"
    assert "CODECARBON_COUNTRY_ISO_CODE" in intensity.source
    monkeypatch.setenv("MLCOST_COUNTRY", "swe")  # ours beats CodeCarbon's
    intensity = _intensity_at_load(ipython_shell)
    assert intensity.country_iso_code == "SWE" and "MLCOST_COUNTRY" in intensity.source


def test_load_twice_is_harmless_and_unload_removes_everything(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "mlcost_magic")
    session = ipython_shell._mlcost_magics.session
    from mlcost_magic.magics import load

    load(ipython_shell)  # a second load keeps the same session
    assert ipython_shell._mlcost_magics.session is session
    assert ipython_shell.find_cell_magic("carbon") is not None
    assert "--metric NAME=EXPR" in ipython_shell.find_cell_magic("carbon").__doc__  # %%carbon?
    ipython_shell.run_line_magic("unload_ext", "mlcost_magic")
    assert ipython_shell.find_cell_magic("carbon") is None
    assert ipython_shell.find_line_magic("carbon") is None
    assert all(type(c).__name__ != "CarbonMagics" for c in ipython_shell.configurables)
    import mlcost_magic.session as session_module

    assert session_module._active_session is None
    ipython_shell.run_line_magic("load_ext", "mlcost_magic")  # and it loads again
    assert ipython_shell._mlcost_magics.session is not session
    ipython_shell.run_line_magic("unload_ext", "mlcost_magic")


def test_plot_report_and_panel_commands(shell, capsys, isolated_env):
    run_cell(shell, "%%carbon -q A --metric accuracy=0.8\npass")
    run_cell(shell, "%%carbon -q B --metric accuracy=0.9\nsum(range(10**5))")
    figure = run_cell(shell, f"%carbon plot --save {isolated_env / 'tradeoffs.png'}").result
    assert len(figure.axes) >= 4
    assert (isolated_env / "tradeoffs.png").read_bytes().startswith(b"\x89PNG")
    printer = shell.display_formatter.formatters["image/png"].lookup_by_type(type(figure))
    png = printer(figure)  # what Out[n] shows in a notebook
    assert png and png.startswith(b"\x89PNG")
    bad = run_cell(shell, f"%carbon plot --save {isolated_env / 'tradeoffs.gif'}")
    assert "--save needs a .png, .svg or .pdf path" in str(bad.error_in_exec)
    run_cell(shell, f"%carbon report {isolated_env / 'report.html'}")
    html = (isolated_env / "report.html").read_text()
    assert "<html" in html.lower() and "A" in html and "data:image/png;base64," in html
    capsys.readouterr()
    run_cell(shell, "%carbon panel")  # a terminal shell has no widget frontend: a text table
    text = capsys.readouterr().out
    assert "label" in text and "\nA " in text and "\nB " in text


def test_our_own_measurement_failing_only_warns(shell, monkeypatch):
    from mlcost_magic.errors import MeasurementWarning

    meter = shell._mlcost_magics.session.meter

    def broken():
        raise OSError("counters unreadable")

    monkeypatch.setattr(meter, "snapshot", broken)
    with pytest.warns(MeasurementWarning, match="counters unreadable"):
        ok = run_cell(shell, "%%carbon -q fine\nanswer = 42\nanswer")
    assert ok.error_in_exec is None and ok.result == 42  # the cell that succeeded still succeeds
    with pytest.warns(MeasurementWarning):
        failed = run_cell(shell, "%%carbon -q failing\n1 / 0")
    assert isinstance(failed.error_in_exec, ZeroDivisionError)  # the user's error is not masked
    frame = session_frame(shell)
    assert list(zip(frame.label, frame.status, strict=True)) == [
        ("fine", "ok"),
        ("failing", "error"),
    ]
    assert frame.energy_kwh.isna().all()  # not measured is shown as missing, never as zero


def test_a_bad_environment_setting_fails_the_load_in_one_line(ipython_shell, monkeypatch):
    from IPython.core.error import UsageError

    monkeypatch.setenv("MLCOST_COUNTRY", "ATLANTIS")
    with pytest.raises(UsageError, match="unknown country ISO code 'ATLANTIS'") as caught:
        from mlcost_magic.magics import load

        load(ipython_shell)
    assert "\n" not in str(caught.value)
    assert ipython_shell.find_cell_magic("carbon") is None
