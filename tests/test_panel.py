"""The panel's widgets after listener calls, deferred redraws, sorting, escaping, text fallback."""

from __future__ import annotations

import base64
import html
import threading

import pandas as pd
import pytest
from IPython.core.events import EventManager, available_events
from ledger_frames import DESCRIPTION, XSS_LABEL, make_frame

from mlcost_magic import MlcostWarning
from mlcost_magic.compare.comparison import compare
from mlcost_magic.views import panel
from mlcost_magic.views import table as formatting
from mlcost_magic.views.frontend import jupyter_frontend


class FakeSession:
    """The session protocol the panel uses, over an in-memory list of runs."""

    def __init__(self, runs=(), metric_names=("accuracy",), description=None):
        self.runs = list(runs)
        self.metric_names = list(metric_names)
        self.listeners = []
        self.description = dict(description or DESCRIPTION)

    def read_runs(self, all_sessions=False):
        return make_frame(self.runs, metrics=self.metric_names)

    def add_listener(self, fn):
        self.listeners.append(fn)

    def remove_listener(self, fn):
        self.listeners.remove(fn)

    def describe(self):
        return self.description

    def record(self, **run):
        self.runs.append(run)
        for listener in list(self.listeners):
            listener(run)


class FakeShell:
    def __init__(self):
        self.events = EventManager(self, available_events)

    def run_cell_finished(self):
        self.events.trigger("post_run_cell", None)


def _table_rows(html_text):
    return html_text.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]


def test_listener_updates_table_soon_and_figure_after_the_cell():
    session = FakeSession([{"label": "first", "emissions_kg": 1e-6, "accuracy": 0.8}])
    shell = FakeShell()
    carbon_panel = panel.CarbonPanel(session, shell)
    assert "first" in carbon_panel.table.value  # displayed complete
    first_png = bytes(carbon_panel.figure.value)
    assert first_png.startswith(b"\x89PNG")

    session.record(label="second", emissions_kg=3e-6, accuracy=0.9)
    assert carbon_panel.wait_idle()
    assert "second" in carbon_panel.table.value
    assert len(_table_rows(carbon_panel.table.value)) == 2
    assert bytes(carbon_panel.figure.value) == first_png  # deferred to post_run_cell
    assert carbon_panel.figure_stale

    shell.run_cell_finished()
    assert carbon_panel.wait_idle()
    assert not carbon_panel.figure_stale
    assert bytes(carbon_panel.figure.value) != first_png
    assert carbon_panel.figure_runs == 2
    redrawn = carbon_panel.png
    shell.run_cell_finished()  # nothing new: no redraw
    assert carbon_panel.wait_idle()
    assert carbon_panel.png is redrawn
    carbon_panel.close()


def test_the_kernels_main_thread_never_refreshes_or_draws():
    session = FakeSession([])
    shell = FakeShell()
    carbon_panel = panel.CarbonPanel(session, shell)
    threads = []
    original = carbon_panel.refresh
    carbon_panel.refresh = lambda figure=True: (
        threads.append(threading.current_thread()) or (original(figure))
    )
    session.record(label="one", emissions_kg=1e-6, accuracy=0.5)
    shell.run_cell_finished()
    assert carbon_panel.wait_idle()
    assert threads and threading.main_thread() not in threads
    assert carbon_panel.figure_runs == 1
    carbon_panel.close()
    assert not carbon_panel._worker.is_alive()


def test_a_loop_of_runs_in_one_cell_refreshes_sparingly_then_fully():
    session = FakeSession([])
    shell = FakeShell()
    carbon_panel = panel.CarbonPanel(session, shell)
    before = carbon_panel.refreshes
    for number in range(40):
        session.record(label=f"run {number}", emissions_kg=1e-6, accuracy=0.5)
    shell.run_cell_finished()
    assert carbon_panel.wait_idle()
    assert 1 <= carbon_panel.refreshes - before < 10  # throttled, not one per run
    assert len(_table_rows(carbon_panel.table.value)) == 40 and not carbon_panel.table_stale
    assert carbon_panel.figure_runs == 40
    carbon_panel.close()


def test_without_shell_the_figure_is_redrawn_at_once():
    session = FakeSession([{"label": "first", "emissions_kg": 1e-6, "accuracy": 0.8}])
    carbon_panel = panel.CarbonPanel(session)
    before = bytes(carbon_panel.figure.value)
    session.record(label="second", emissions_kg=3e-6, accuracy=0.9)
    assert bytes(carbon_panel.figure.value) != before


def test_everything_user_supplied_is_escaped():
    session = FakeSession(
        [
            {
                "label": XSS_LABEL,
                "emissions_kg": 1e-6,
                "accuracy": 0.8,
                "status": "error",
                "error": "ValueError: <b>bad</b>",
            }
        ],
        metric_names=["<script>m</script>"],
        description={**DESCRIPTION, "method": "<i>m</i>", "country_name": "<b>X</b>"},
    )
    carbon_panel = panel.CarbonPanel(session)
    table = carbon_panel.table.value
    assert "<img src=x" not in table and html.escape(XSS_LABEL) in table
    assert "<script>" not in table and "&lt;script&gt;m&lt;/script&gt;" in table
    assert "<b>bad</b>" not in table
    footer = carbon_panel.footer.value
    assert "<i>" not in footer and "&lt;i&gt;m&lt;/i&gt;" in footer and "&lt;b&gt;X" in footer


def test_failed_runs_are_marked():
    session = FakeSession(
        [
            {"label": "fine", "emissions_kg": 1e-6, "accuracy": 0.8},
            {"label": "broke", "emissions_kg": 2e-6, "status": "error", "error": "boom"},
            {"label": "stopped", "emissions_kg": 2e-6, "status": "interrupted"},
        ]
    )
    rows = _table_rows(panel.CarbonPanel(session).table.value)
    assert "mlcost-failed" not in rows[0]
    assert "mlcost-failed" in rows[1] and "✗ error" in rows[1] and 'title="boom"' in rows[1]
    assert "mlcost-failed" in rows[2] and "interrupted" in rows[2]


def test_sorting_by_any_column_both_ways():
    session = FakeSession(
        [
            {"label": "mid", "emissions_kg": 2e-6, "accuracy": 0.85},
            {"label": "low", "emissions_kg": 1e-6, "accuracy": 0.9},
            {"label": "high", "emissions_kg": 5e-6, "accuracy": 0.8},
        ]
    )
    carbon_panel = panel.CarbonPanel(session)
    sortable = [name for _, name in carbon_panel.sort_dropdown.options]
    assert {"label", "emissions_kg", "accuracy", "emissions_kg_per_accuracy_point"} <= set(sortable)

    def order():
        return [
            next(lbl for lbl in ("mid", "low", "high") if f"> {lbl}<" in row or f">{lbl}<" in row)
            for row in _table_rows(carbon_panel.table.value)
        ]

    assert order() == ["mid", "low", "high"]  # run order
    carbon_panel.sort_dropdown.value = "emissions_kg"
    assert order() == ["low", "mid", "high"]
    carbon_panel.ascending_toggle.value = False
    assert order() == ["high", "mid", "low"]
    assert carbon_panel.ascending_toggle.description == "descending"
    carbon_panel.sort_dropdown.value = "label"
    assert order() == ["mid", "low", "high"]  # descending: mid, low, high


def test_best_tradeoff_row_is_starred():
    session = FakeSession(
        [
            {"label": "cheap", "emissions_kg": 1e-6, "accuracy": 0.9},
            {"label": "dear", "emissions_kg": 9e-6, "accuracy": 0.91},
        ]
    )
    rows = _table_rows(panel.CarbonPanel(session).table.value)
    assert "mlcost-best" in rows[0] and "★" in rows[0]
    assert "mlcost-best" not in rows[1]


def test_metric_dropdown_switches_metric_and_handles_lower_is_better():
    session = FakeSession(
        [
            {"label": "a", "emissions_kg": 1e-6, "accuracy": 0.9, "rmse": 0.3},
            {"label": "b", "emissions_kg": 2e-6, "accuracy": 0.8, "rmse": 0.1},
        ],
        metric_names=["accuracy", "rmse"],
    )
    carbon_panel = panel.CarbonPanel(session)
    assert carbon_panel.metric_dropdown.value == "accuracy"
    assert ("rmse (lower is better)", "rmse") in carbon_panel.metric_dropdown.options
    before = bytes(carbon_panel.figure.value)
    carbon_panel.metric_dropdown.value = "rmse"
    assert carbon_panel.metric == "rmse"
    assert "CO2 per 1/rmse point" in carbon_panel.table.value
    frame = carbon_panel.frame
    assert frame["emissions_kg_per_inv_rmse_point"].tolist() == pytest.approx(
        (frame["emissions_kg"] * frame["rmse"]).tolist()
    )
    assert bytes(carbon_panel.figure.value) != before


def test_empty_session_and_first_metric_appearing():
    session = FakeSession([], metric_names=[])
    carbon_panel = panel.CarbonPanel(session, FakeShell())
    assert "No runs recorded yet" in carbon_panel.table.value
    assert carbon_panel.metric_dropdown.disabled
    session.metric_names = ["f1"]
    session.record(label="one", emissions_kg=1e-6, f1=0.5)
    assert carbon_panel.wait_idle()
    assert carbon_panel.metric_dropdown.value == "f1" and not carbon_panel.metric_dropdown.disabled
    carbon_panel.close()


def test_footer_line():
    footer = panel.CarbonPanel(FakeSession()).footer.value
    for part in ("estimate:tdp-4W/thread", "France (FRA)", "56 gCO2/kWh", "PUE 1.0"):
        assert part in footer


def test_widgets_carry_css_classes():
    carbon_panel = panel.CarbonPanel(FakeSession())
    assert "mlcost-panel" in carbon_panel.widget._dom_classes
    assert "mlcost-table" in carbon_panel.table._dom_classes
    assert "mlcost-figure" in carbon_panel.figure._dom_classes
    assert "mlcost-footer" in carbon_panel.footer._dom_classes


def test_mimebundle_has_widget_view_and_static_fallbacks():
    session = FakeSession([{"label": "a", "emissions_kg": 1e-6, "accuracy": 0.8}])
    carbon_panel = panel.CarbonPanel(session)
    bundle = carbon_panel._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == carbon_panel.widget.model_id
    assert base64.b64decode(bundle["image/png"]) == bytes(carbon_panel.figure.value)
    assert "a" in bundle["text/plain"] and "CO2 (mg)" in bundle["text/plain"]


def test_close_unregisters_listener_and_hook():
    session, shell = FakeSession(), FakeShell()
    carbon_panel = panel.CarbonPanel(session, shell)
    assert session.listeners and shell.events.callbacks["post_run_cell"]
    carbon_panel.close()
    carbon_panel.close()  # idempotent
    assert session.listeners == []
    assert shell.events.callbacks["post_run_cell"] == []


def test_a_failing_session_warns_instead_of_raising():
    session = FakeSession([{"label": "a", "emissions_kg": 1e-6}])
    carbon_panel = panel.CarbonPanel(session)
    assert len(session.listeners) == 1

    def broken(all_sessions=False):
        raise RuntimeError("ledger gone")

    session.read_runs = broken
    with pytest.warns(MlcostWarning, match="ledger gone"):
        session.record(label="b", emissions_kg=1e-6)
    assert "a" in carbon_panel.table.value  # the last good table stays


def test_text_fallback_without_widget_frontend(capsys):
    session = FakeSession([{"label": XSS_LABEL, "emissions_kg": 2e-6, "accuracy": 0.5}])
    assert panel.show_panel(session, shell=object()) is None
    printed = capsys.readouterr().out
    assert XSS_LABEL in printed  # plain text: shown literally
    assert "CO2 (mg)" in printed and "accuracy" in printed
    assert session.listeners == []


def test_large_numbers_get_thousands_separators():
    frame = make_frame([{"label": "a", "emissions_kg": 1e-8, "accuracy": 0.9}], ["accuracy"])
    text = formatting.text_table(compare(frame))
    per_gram = 0.9 / 1e-5
    assert f"{per_gram:,.0f}" in text and "," in f"{per_gram:,.0f}"


def test_text_table_units_and_alignment():
    frame = make_frame(
        [
            {"label": "a", "emissions_kg": 2e-3, "duration_s": 30.0},
            {"label": "bb", "emissions_kg": 4e-3, "duration_s": 300.0},
            {"label": "c", "emissions_kg": 6e-3, "duration_s": 600.0},
        ]
    )
    text = formatting.text_table(compare(frame))
    lines = text.splitlines()
    assert "CO2 (g)" in lines[0] and "duration (min)" in lines[0] and "energy (Wh)" in lines[0]
    assert len({len(line) for line in lines[:2]}) == 1
    assert " 4.00 " in lines[3] or lines[3].split()[-1] == "4.00"
    assert formatting.text_table(compare(make_frame([]))).startswith("No runs")


@pytest.mark.parametrize(("kwh", "unit"), [(2e-6, "mWh"), (2e-3, "Wh"), (2.0, "kWh")])
def test_energy_column_unit_follows_the_data(kwh, unit):
    frame = make_frame([{"label": "a", "emissions_kg": 1e-6, "energy_kwh": kwh}])
    header = formatting.text_table(compare(frame)).splitlines()[0]
    assert f"energy ({unit})" in header
    assert " 2.00" in formatting.text_table(compare(frame)).splitlines()[2]


def test_one_rule_for_a_jupyter_frontend(ipython_shell):
    class ZMQInteractiveShell:
        kernel = object()

    class Terminal:
        kernel = None

    assert jupyter_frontend(ZMQInteractiveShell())
    assert not jupyter_frontend(Terminal())
    assert not jupyter_frontend(None)
    assert not jupyter_frontend()  # the running shell here is terminal IPython


def test_with_the_real_session(tmp_path, monkeypatch):
    """The lead's Session: runs recorded by track() reach the panel through its listener."""
    session_module = pytest.importorskip("mlcost_magic.session")
    settings_module = pytest.importorskip("mlcost_magic.measure.settings")
    monkeypatch.setenv("MLCOST_COUNTRY", "FRA")
    settings = settings_module.Settings(ledger_path=tmp_path / "ledger.sqlite")
    session = session_module.Session(settings)
    try:
        shell = FakeShell()
        carbon_panel = panel.CarbonPanel(session, shell)
        with session.track(XSS_LABEL, quiet=True) as run:
            sum(range(100_000))
            run.log_metric("accuracy", 0.75)
        assert carbon_panel.wait_idle()
        table = carbon_panel.table.value
        assert html.escape(XSS_LABEL) in table and "<img src=x" not in table
        frame = carbon_panel.frame
        assert isinstance(frame, pd.DataFrame) and len(frame) == 1
        assert frame["accuracy"].iloc[0] == 0.75
        shell.run_cell_finished()
        assert carbon_panel.wait_idle()
        assert not carbon_panel.figure_stale and carbon_panel.figure_runs == 1
        carbon_panel.close()
    finally:
        session.close()


@pytest.mark.slow
def test_executed_notebook_keeps_a_static_figure_and_the_widget_state(tmp_path):
    """GitHub cannot run widgets: the saved panel output must carry a PNG besides the view."""
    import json
    import os

    import nbformat

    runner = pytest.importorskip("mlcost_magic.tutorials.runner")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext mlcost_magic"),
        nbformat.v4.new_code_cell(f'%%carbon "{XSS_LABEL}" --metric accuracy=acc\nacc = 0.9'),
        nbformat.v4.new_code_cell("%carbon panel"),
    ]
    path = tmp_path / "panel.ipynb"
    nbformat.write(notebook, path)
    env = {**os.environ, "MLCOST_COUNTRY": "FRA", "MLCOST_LEDGER": str(tmp_path / "l.sqlite")}
    executed, _, error = runner.execute_notebook(
        path, workdir=tmp_path, env=env, cell_timeout_s=120, notebook_timeout_s=240
    )
    assert error is None
    (output,) = [o for o in executed.cells[2].outputs if o.output_type == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in output.data
    assert base64.b64decode(output.data["image/png"]).startswith(b"\x89PNG")
    assert XSS_LABEL in output.data["text/plain"]
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    tables = [
        model["state"]["value"]
        for model in state.values()
        if "mlcost-table" in model["state"].get("_dom_classes", [])
    ]
    assert len(tables) == 1 and html.escape(XSS_LABEL) in tables[0]
    assert "<img src=x" not in json.dumps(tables)


def test_text_table_and_figure_say_how_the_numbers_were_made():
    from mlcost_magic.views.figure import plot_tradeoffs
    from mlcost_magic.views.table import basis_line, text_table

    frame = make_frame([{"label": "A", "emissions_kg": 1e-6}, {"label": "B", "emissions_kg": 2e-6}])
    line = basis_line(frame)
    assert line.startswith("Estimated: estimate:tdp-4W/thread; RAM 0.375 W/GB")
    assert "56.0 g CO2e/kWh (FRA)" in line and "PUE 1" in line
    assert text_table(compare(frame)).splitlines()[-1] == line
    figure = plot_tradeoffs(compare(frame))
    assert line in [text.get_text() for text in figure.texts]
