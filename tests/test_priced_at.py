"""Priced at another location: the runs' CO2 re-priced once in the compare layer, every view
(table, four-panel figure, panel) marked as a what-if naming the file and year of its figure.

Expected intensities are read straight from CodeCarbon's package files (``test_whatif``), and
the expected CO2 is computed from the ledger runs of real ``%%carbon`` cells.
"""

from __future__ import annotations

import re

import pytest
from conftest import run_cell
from IPython.core.error import UsageError
from test_whatif import MIX, WORLD, intensity

from mlcost_magic.compare.comparison import compare
from mlcost_magic.compare.pricing import country_choices, reprice
from mlcost_magic.views import panel as panel_module
from mlcost_magic.views.figure import plot_tradeoffs
from mlcost_magic.views.table import html_table, text_table

pytestmark = pytest.mark.usefixtures("clean_user_ns")

BODY = "import time\ntime.sleep(0.05)\nsum(range(300_000))"
LOCATIONS = ["POL", "swe", "world", "gcp:europe-west1"]


def caption(location: str) -> str:
    """The caption a view priced at ``location`` must show, built from CodeCarbon's files."""
    if location == "world":
        year = re.findall(r"20\d\d", WORLD["world_average_source"])[-1]
        source = f"CodeCarbon carbon_intensity_per_source.json ({year})"
    elif ":" in location:
        return f"What-if: priced at {location} (CodeCarbon "  # the file has no year: a prefix
    else:
        source = f"CodeCarbon global_energy_mix.json ({MIX[location.upper()]['year']})"
    figure = f"{intensity(location):g} g/kWh"
    return f"What-if: priced at {location} ({source}, {figure}), energy as measured"


@pytest.mark.parametrize("location", LOCATIONS)
def test_repriced_co2_is_measured_energy_times_the_location_intensity(runs, location):
    before = runs.copy()
    priced = reprice(runs, location)
    assert priced["energy_kwh"].tolist() == runs["energy_kwh"].tolist()  # energy never changes
    assert (priced["energy_kwh"] > 0).all()
    expected = runs["energy_kwh"] * intensity(location) / 1000
    assert priced["emissions_kg"].tolist() == pytest.approx(expected.tolist(), rel=1e-12, abs=0)
    assert (priced["carbon_intensity_g_per_kwh"] == intensity(location)).all()
    assert priced["intensity_source"].str.startswith("CodeCarbon ").all()
    assert runs.equals(before), "the ledger's runs are not changed"


def test_compare_priced_at_recomputes_the_trade_offs_and_names_its_source(runs):
    measured = compare(runs)
    priced = compare(runs, priced_at="POL")
    assert measured.what_if is None and measured.priced_at is None
    assert priced.what_if == caption("POL")
    frame = priced.frame
    expected = runs["energy_kwh"] * intensity("POL") / 1000
    assert frame["emissions_kg"].tolist() == pytest.approx(expected.tolist(), rel=1e-12)
    per_point = frame["emissions_kg"] / frame["accuracy"]
    assert frame["emissions_kg_per_accuracy_point"].tolist() == pytest.approx(per_point.tolist())
    means = priced.groups.set_index("label")["emissions_kg"]
    by_label = (runs["energy_kwh"] * intensity("POL") / 1000).groupby(runs["label"]).mean()
    assert means.to_dict() == pytest.approx(by_label.to_dict())
    with pytest.raises(ValueError, match=r"unknown location 'FRNA' \(nearest: FRA \(France\)"):
        compare(runs, priced_at="FRNA")


def test_table_and_figure_say_they_are_a_what_if(runs):
    priced, measured = compare(runs, priced_at="world"), compare(runs)
    marked = caption("world")
    assert f'<div class="mlcost-whatif">{marked}</div>' in html_table(priced)
    assert text_table(priced).splitlines()[0] == marked
    assert "What-if" not in html_table(measured) and "What-if" not in text_table(measured)
    figure = plot_tradeoffs(priced)
    assert [t.get_text() for t in figure.texts if t.get_gid() == "what-if"] == [marked]
    assert not [t for t in plot_tradeoffs(measured).texts if t.get_gid() == "what-if"]
    assert f"{intensity('world'):.0f} g CO2e/kWh (world average)" in text_table(priced)


def test_table_plot_and_report_at_a_location(shell, runs, capsys, isolated_env):
    from matplotlib.figure import Figure

    capsys.readouterr()
    frame = shell.run_line_magic("carbon", "table --at DEU")
    assert capsys.readouterr().out.strip() == caption("DEU")
    assert frame.attrs["what_if"] == caption("DEU")
    expected = runs["energy_kwh"] * intensity("DEU") / 1000
    assert frame["emissions_kg"].tolist() == pytest.approx(expected.tolist(), rel=1e-12)
    assert frame["energy_kwh"].tolist() == runs["energy_kwh"].tolist()
    figure = shell.run_line_magic("carbon", "plot --at gcp:europe-west1")
    assert isinstance(figure, Figure)
    (text,) = [t.get_text() for t in figure.texts if t.get_gid() == "what-if"]
    assert text.startswith(caption("gcp:europe-west1")) and "impact.csv" in text
    shell.run_line_magic("carbon", f"report {isolated_env / 'priced.html'} --at DEU")
    report = (isolated_env / "priced.html").read_text(encoding="utf-8")
    assert f'<div class="mlcost-whatif">{caption("DEU")}</div>' in report
    with pytest.raises(UsageError) as refused:
        shell.run_line_magic("carbon", "table --at Atlantis")
    assert str(refused.value).startswith("%carbon table: unknown location 'Atlantis'")
    assert len(str(refused.value).splitlines()) == 1


def test_the_choices_are_as_measured_world_and_every_codecarbon_country():
    choices = dict((value, text) for text, value in country_choices())
    assert set(choices) == {"world", *MIX}
    assert choices["POL"] == f"POL · {MIX['POL']['country_name']} · {intensity('POL'):g} g/kWh"
    assert choices["world"].startswith("world average · 475 g/kWh")


def test_the_panel_reprices_its_table_and_figure_and_goes_back(shell, runs):
    session = shell._mlcost_magics.session
    panel = panel_module.CarbonPanel(session, shell)
    try:
        options = panel.priced_dropdown.options
        assert options[0] == ("as measured", "") and len(options) == len(MIX) + 2
        measured_png = panel.png
        assert "What-if" not in panel.table.value

        panel.priced_dropdown.value = "POL"
        assert panel.wait_idle()
        assert f'<div class="mlcost-whatif">{caption("POL")}</div>' in panel.table.value
        expected = runs["energy_kwh"] * intensity("POL") / 1000
        assert panel.frame["emissions_kg"].tolist() == pytest.approx(expected.tolist())
        assert panel.png != measured_png  # the figure was redrawn, priced at POL
        assert "What-if: priced at POL" in panel._repr_mimebundle_()["text/plain"]

        run_cell(shell, f"%%carbon -q 'Third' --metric accuracy=0.7\n{BODY}")  # a new run
        assert panel.wait_idle()
        assert "Third" in panel.table.value and "What-if: priced at POL" in panel.table.value

        panel.priced_dropdown.value = ""
        assert panel.wait_idle()
        assert "What-if" not in panel.table.value
        measured = session.read_runs()
        assert panel.frame["emissions_kg"].tolist() == measured["emissions_kg"].tolist()
    finally:
        panel.close()
