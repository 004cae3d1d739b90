"""%carbon whatif: the same energy at other grids, every figure from CodeCarbon's own files.

The expected intensities are read here straight from CodeCarbon's package files (json, csv),
not through mlcost_magic's readers, and the expected CO2 is computed from the ledger's rows.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import codecarbon
import pytest
from conftest import run_cell
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from test_magic_lines import check_outcome, run_carbon_line, unexpected_warnings

from mlcost_magic.units import format_mass

DATA = Path(codecarbon.__file__).parent / "data"
MIX = json.loads((DATA / "private_infra" / "global_energy_mix.json").read_text("utf-8"))
WORLD = json.loads((DATA / "private_infra" / "carbon_intensity_per_source.json").read_text())
with (DATA / "cloud" / "impact.csv").open(encoding="utf-8-sig", newline="") as handle:
    CLOUD = {f"{r['provider']}:{r['region']}": r for r in csv.DictReader(handle)}


def intensity(location: str) -> float:
    """g CO2e/kWh of a location, read from CodeCarbon's files."""
    if location == "world":
        return float(WORLD["world_average"])
    if ":" in location:
        return float(CLOUD[location]["impact"])
    return float(MIX[location.upper()]["carbon_intensity"])


def whatif(shell, line: str = ""):
    return shell.run_line_magic("carbon", f"whatif {line}".strip())


def check_columns(frame, rows, locations) -> None:
    """Every location column is mean energy x the location's intensity; energy unchanged."""
    means = rows.groupby("label", sort=False)[["energy_kwh", "emissions_kg"]].mean()
    assert list(frame["label"]) == list(means.index)
    assert list(frame["runs"]) == list(rows.groupby("label", sort=False).size())
    for _, row in frame.iterrows():
        energy = means.loc[row["label"], "energy_kwh"]
        assert energy > 0
        assert row["energy_kwh"] == pytest.approx(energy, rel=1e-12)  # never changes
        assert row["emissions_kg"] == pytest.approx(means.loc[row["label"], "emissions_kg"])
        assert row["carbon_intensity_g_per_kwh"] == pytest.approx(56.039)
        assert row["measured_in"] == "FRA"
        for location in locations:
            expected = energy * intensity(location) / 1000
            assert row[location] == pytest.approx(expected, rel=1e-12, abs=0), location


def test_a_country_and_a_cloud_region_are_energy_times_codecarbon_intensity(shell, runs, capsys):
    frame = whatif(shell, "DEU gcp:europe-west1 pol")
    assert list(frame.columns) == [
        "label", "runs", "measured_in", "carbon_intensity_g_per_kwh", "energy_kwh",
        "emissions_kg", "accuracy", "DEU", "gcp:europe-west1", "pol",
    ]  # fmt: skip
    check_columns(frame, runs, ["DEU", "gcp:europe-west1", "pol"])
    assert frame["accuracy"].tolist() == pytest.approx([0.81, 0.9])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("All 3 runs: ") and " in FRA, " in printed[0]
    assert len(printed) == 4  # the sentence, then one source line per location


def test_the_defaults_are_own_world_and_the_three_lowest_and_highest(shell, runs):
    frame = whatif(shell)
    by_intensity = sorted(MIX, key=lambda code: (MIX[code]["carbon_intensity"], code))
    highest = sorted(MIX, key=lambda code: (-MIX[code]["carbon_intensity"], code))
    expected = ["FRA", "world", *by_intensity[:3], *highest[:3]]
    assert list(frame.columns[-len(expected) :]) == expected
    assert intensity("world") == 475
    check_columns(frame, runs, expected)
    assert frame["FRA"].tolist() == pytest.approx(frame["emissions_kg"].tolist(), rel=1e-9)


def test_sources_name_the_data_file_and_its_year(shell, runs, capsys):
    frame = whatif(shell, "DEU world gcp:europe-west1")
    sources = frame.attrs["sources"]
    deu_year = MIX["DEU"]["year"]
    assert f"CodeCarbon global_energy_mix.json ({deu_year})" in sources["DEU"]
    assert "Germany (DEU)" in sources["DEU"] and "380.95 g CO2e/kWh" in sources["DEU"]
    world_year = re.findall(r"20\d\d", WORLD["world_average_source"])[-1]
    assert f"carbon_intensity_per_source.json ({world_year})" in sources["world"]
    cloud = sources["gcp:europe-west1"]
    assert "cloud/impact.csv (no year stated)" in cloud and "Belgium" in cloud
    assert f"CodeCarbon {codecarbon.__version__} " in cloud
    printed = capsys.readouterr().out
    for line in sources.values():
        assert f"  {line}\n" in printed


def test_the_sentence_says_what_the_frame_holds(shell, runs, capsys):
    frame = whatif(shell, "POL SWE FRA")
    sentence = capsys.readouterr().out.splitlines()[0]
    total = (frame["emissions_kg"] * frame["runs"]).sum()
    assert total == pytest.approx(runs["emissions_kg"].sum())
    parts = [f"All 3 runs: {format_mass(total)} CO2e in FRA"]
    for location in ("POL", "SWE"):  # FRA is where they ran: not repeated
        there = (frame[location] * frame["runs"]).sum()
        assert there == pytest.approx(runs["energy_kwh"].sum() * intensity(location) / 1000)
        ratio = there / total
        shown = f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2g}x"
        parts.append(f"{format_mass(there)} in {location} ({shown})")
    assert sentence == ", ".join(parts)
    assert "(12x)" in sentence and "(0.73x)" in sentence  # 661.9 / 56.04 and 40.7 / 56.04


@pytest.mark.parametrize(
    "line, suggests",
    [
        ("FRNA", "FRA (France)"),
        ("Frnace", "FRA (France)"),
        ("gcp:europe-west99", "gcp:europe-west9"),
        ("europe-west1", "gcp:europe-west1"),
        ("DEU Qxzzv", "no close match"),
    ],
)
def test_an_unknown_location_is_one_line_naming_the_nearest(shell, runs, capsys, line, suggests):
    capsys.readouterr()
    with pytest.raises(UsageError) as raised:
        whatif(shell, line)
    message = str(raised.value)
    assert len(message.splitlines()) == 1 and message.startswith("%carbon whatif: unknown")
    assert suggests in message
    assert capsys.readouterr().out == ""  # nothing half-printed


def test_plot_is_a_pure_figure_of_the_same_bars(shell, runs):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    open_before = plt.get_fignums()
    figure = whatif(shell, "DEU SWE --plot")
    assert isinstance(figure, Figure) and plt.get_fignums() == open_before
    (ax,) = figure.axes
    series = {gid: [] for gid in ("bars:emissions_kg", "bars:DEU", "bars:SWE")}
    for patch in ax.patches:
        series[patch.get_gid()].append(patch.get_height())
    frame = whatif(shell, "DEU SWE")
    scale = series["bars:DEU"][0] / frame["DEU"].iloc[0]  # the axis unit (µg, mg, ...)
    for gid, heights in series.items():
        assert heights == pytest.approx((frame[gid.split(":", 1)[1]] * scale).tolist())
    texts = " ".join(t.get_text() for t in figure.texts)
    assert "What-if" in figure.get_suptitle() and "global_energy_mix.json" in texts
    printer = shell.display_formatter.formatters["image/png"].lookup_by_type(Figure)
    assert printer(figure).startswith(b"\x89PNG")  # Out[n] shows it


def test_metric_all_and_an_empty_ledger(shell, capsys):
    frame = whatif(shell, "DEU")
    assert frame.empty and "No finished runs yet" in capsys.readouterr().out
    with pytest.raises(UsageError, match="no metric 'nope'"):
        whatif(shell, "--metric nope")
    run_cell(shell, "%%carbon -q world --metric rmse=0.3\npass")  # no country: world average
    frame = whatif(shell, "--all --metric rmse DEU")
    assert frame["measured_in"].tolist() == ["world average"]
    assert frame["rmse"].tolist() == [0.3]
    printed = capsys.readouterr().out
    assert printed.startswith("The one run: ") and "CO2e at the world average, " in printed


def test_pue_and_a_region_known_only_by_its_country(monkeypatch, runs):
    from mlcost_magic.compare import whatif as what_if
    from mlcost_magic.measure import codecarbon_data

    rows = dict(codecarbon_data.cloud_impact())
    rows["acme", "brussels"] = {**rows["gcp", "europe-west1"], "provider": "acme",
                                "region": "brussels", "impact": "", "pue": "1.5"}  # fmt: skip
    monkeypatch.setattr(codecarbon_data, "cloud_impact", lambda: rows)
    location = what_if.resolve_location("acme:brussels")
    assert location.g_per_kwh == MIX["BEL"]["carbon_intensity"] and location.pue == 1.5
    assert "known only by its country (BEL)" in location.source_line()
    assert "global_energy_mix.json" in location.source and "no figure" in location.source
    runs = runs.assign(pue=[1.0, 1.2, 1.2])
    result = what_if.whatif(runs, ["acme:brussels", "BEL"])
    small = runs[runs["label"] == "Small RF"]
    before_pue = small["energy_kwh"] / small["pue"]
    expected = (before_pue * 1.5 * MIX["BEL"]["carbon_intensity"] / 1000).mean()
    assert result.frame["acme:brussels"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert result.frame["BEL"].iloc[0] == pytest.approx(
        small["energy_kwh"].mean() * MIX["BEL"]["carbon_intensity"] / 1000, rel=1e-12
    )
    assert math.isclose(result.frame["energy_kwh"].iloc[0], small["energy_kwh"].mean())
    assert "PUE 1.5 (replaces the run's)" in result.sources["acme:brussels"]


LOCATION_WORDS = ["DEU", "fra", "world", "gcp:europe-west1", "GCP:us-west1", "France"]
BAD_WORDS = ["FRNA", "gcp:nowhere", "aws:", ":", "🎯", "'$x$'", "{y}", "XX", '"a b"']


@settings(
    deadline=None,
    max_examples=60,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    words=st.lists(st.sampled_from(LOCATION_WORDS + BAD_WORDS), max_size=4),
    options=st.lists(st.sampled_from(["--all", "--plot", "--metric accuracy", "--metric nope"])),
    noise=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=12
    ),
    with_noise=st.booleans(),
)
def test_every_whatif_line_runs_or_is_refused_in_one_line(
    runs, shell, capsys, words, options, noise, with_noise
):
    line = " ".join(["whatif", *words, *options, *([noise] if with_noise else [])])
    error, new_rows, printed, caught = run_carbon_line(shell, capsys, line)
    outcome = check_outcome(error, new_rows, printed)
    assert new_rows == 0 and unexpected_warnings(caught) == []
    if not with_noise:
        bad = any(w in BAD_WORDS for w in words) or "--metric nope" in options
        assert outcome == ("refused" if bad else "ok"), (line, error)
