"""The bubble chart (``%carbon plot --size``, the panel): the metric against CO2, one bubble per
label, its area proportional to the model size recorded by real ``%%carbon --size`` cells."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from conftest import run_cell
from IPython.core.error import UsageError
from test_whatif import intensity

from mlcost_magic import units
from mlcost_magic.views import panel as panel_module
from mlcost_magic.views.bubbles import MAX_BUBBLE_AREA_PT2

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = pytest.mark.usefixtures("clean_user_ns")

TRAIN = (
    "from sklearn.datasets import load_iris\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "X, y = load_iris(return_X_y=True)\n"
    "clf = RandomForestClassifier(n_estimators={trees}, random_state=0).fit(X, y)\n"
    "acc = clf.score(X, y)"
)


@pytest.fixture
def sized(shell):
    """Three forests of 3, 10 and 30 trees, sized by --size clf; the 10-tree one twice."""
    shell._mlcost_magics.country_iso_code = "FRA"
    for label, trees in (("RF 3", 3), ("RF 10", 10), ("RF 10", 10), ("RF 30", 30)):
        cell = (
            f"%%carbon -q '{label}' --size clf --metric accuracy=acc\n{TRAIN.format(trees=trees)}"
        )
        assert run_cell(shell, cell).success
    return shell._mlcost_magics.session.read_runs()


def _bubbles(figure):
    (ax,) = [ax for ax in figure.axes if ax.collections]
    (collection,) = [c for c in ax.collections if c.get_gid() == "bubbles"]
    return ax, collection


def test_bubble_areas_are_proportional_to_model_size(shell, sized):
    open_before = plt.get_fignums()
    figure = shell.run_line_magic("carbon", "plot --size")
    assert plt.get_fignums() == open_before  # never through pyplot
    ax, collection = _bubbles(figure)
    means = sized.groupby("label", sort=False)[["emissions_kg", "accuracy", "model_size"]].mean()
    assert list(means.index) == ["RF 3", "RF 10", "RF 30"]
    sizes = means["model_size"].to_numpy(float)
    assert sizes[0] < sizes[1] < sizes[2]  # more trees, more nodes
    areas = collection.get_sizes()
    assert areas.max() == pytest.approx(MAX_BUBBLE_AREA_PT2)
    assert (areas / sizes).tolist() == pytest.approx([MAX_BUBBLE_AREA_PT2 / sizes.max()] * 3)
    factor, suffix = units.mass_scale(float(np.median(means["emissions_kg"])))
    offsets = collection.get_offsets()
    assert offsets[:, 0].tolist() == pytest.approx((means["emissions_kg"] / factor).tolist())
    assert offsets[:, 1].tolist() == pytest.approx(means["accuracy"].tolist())
    assert ax.get_xlabel() == f"CO2 per run, mean ({suffix})"
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "bubble-label"]
    assert labels == [f"{label}\n{n:,.0f}" for label, n in zip(means.index, sizes, strict=True)]
    assert "bubble area proportional to model size" in figure.get_suptitle()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == f"{sizes.max():,.0f}"  # the reference bubbles, on the same scale


def test_priced_at_a_location_the_bubbles_move_and_say_so(shell, sized):
    figure = shell.run_line_magic("carbon", "plot --size --at POL")
    _, collection = _bubbles(figure)
    priced = (sized["energy_kwh"] * intensity("POL") / 1000).groupby(sized["label"]).mean()
    factor, _ = units.mass_scale(float(np.median(priced)))
    expected = [priced[label] / factor for label in ("RF 3", "RF 10", "RF 30")]
    assert collection.get_offsets()[:, 0].tolist() == pytest.approx(expected)
    (marked,) = [t.get_text() for t in figure.texts if t.get_gid() == "what-if"]
    assert marked.startswith("What-if: priced at POL (CodeCarbon global_energy_mix.json (")


def test_save_a_bubble_chart(shell, sized, tmp_path, capsys):
    shell.run_line_magic("carbon", f"plot --size --save {tmp_path / 'bubbles.svg'}")
    assert (tmp_path / "bubbles.svg").read_text().lstrip().startswith("<?xml")
    assert f"Wrote {tmp_path / 'bubbles.svg'}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([], "no run has a model size: record one with %%carbon --size EXPR or run.log_size(n)"),
        (["%%carbon -q unsized --metric accuracy=0.9\npass"], "no run has a model size"),
        (["%%carbon -q sized --size 100\npass"], "no run logged a metric to place the bubbles"),
        (
            [
                "%%carbon -q a --size 100 --metric rmse=1\npass",
                "%%carbon -q b --metric acc=1\npass",
            ],
            "no finished run has both a model size and acc",
        ),
    ],
    ids=["empty", "no size", "no metric", "not both"],
)
def test_nothing_to_draw_is_one_line(shell, cells, message):
    for cell in cells:
        assert run_cell(shell, cell).success
    metric = " --metric acc" if "acc=1" in "".join(cells) else ""
    with pytest.raises(UsageError) as refused:
        shell.run_line_magic("carbon", f"plot --size{metric}")
    assert str(refused.value).startswith(f"%carbon plot: {message}")
    assert len(str(refused.value).splitlines()) == 1


def test_a_lower_is_better_metric_puts_better_up(shell):
    run_cell(shell, "%%carbon -q small --size 10 --metric rmse=0.5\npass")
    run_cell(shell, "%%carbon -q large --size 40 --metric rmse=0.2\npass")
    figure = shell.run_line_magic("carbon", "plot --size")
    ax, collection = _bubbles(figure)
    assert ax.yaxis_inverted() and "lower is better" in ax.get_ylabel()
    assert collection.get_sizes().tolist() == pytest.approx(
        [MAX_BUBBLE_AREA_PT2 / 4, MAX_BUBBLE_AREA_PT2]
    )


def test_the_panel_shows_the_bubble_chart_once_a_run_has_a_size(shell):
    session = shell._mlcost_magics.session
    run_cell(shell, "%%carbon -q plain --metric accuracy=0.8\npass")
    panel = panel_module.CarbonPanel(session, shell)
    try:
        assert panel.bubbles.layout.display == "none" and panel.bubbles_png == b""
        run_cell(
            shell, f"%%carbon -q 'RF 5' --size clf --metric accuracy=acc\n{TRAIN.format(trees=5)}"
        )
        assert panel.wait_idle()
        assert panel.bubbles.layout.display is None
        assert panel.bubbles.value == panel.bubbles_png and panel.bubbles_png[:4] == b"\x89PNG"
        assert "model size" in panel.table.value  # the table's column
    finally:
        panel.close()
