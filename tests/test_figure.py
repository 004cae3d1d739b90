"""The four-panel figure: structure, Pareto front, units, escaping, no pyplot leaks."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from ledger_frames import XSS_LABEL, make_frame, random_frame

from mlcost_magic.compare import tradeoffs as metrics
from mlcost_magic.compare.comparison import compare
from mlcost_magic.views import figure as plots

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_pyplot_figures_leak():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def _by_gid(ax, gid):
    """Artists tagged with a gid (bars: one Rectangle per bar)."""
    return [artist for artist in ax.get_children() if artist.get_gid() == gid]


def _run_points(ax):
    (collection,) = _by_gid(ax, "runs")
    return collection.get_offsets()


def _texts(fig):
    found = [fig._suptitle] if fig._suptitle else []
    for ax in fig.axes:
        found += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        found += ax.get_xticklabels()
        legend = ax.get_legend()
        if legend is not None:
            found += legend.get_texts()
    return found


def _known_frame():
    points = {"a": (0.90, 1.0), "b": (0.80, 2.0), "c": (0.95, 3.0), "d": (0.70, 0.8)}
    return make_frame(
        [
            {"label": label, "accuracy": acc, "emissions_kg": mg * 1e-6, "duration_s": 10 * mg}
            for label, (acc, mg) in points.items()
        ],
        metrics=["accuracy"],
    )


def test_four_axes_with_one_point_per_run():
    frame = random_frame(30, n_labels=5)
    frame.loc[3, "status"] = "error"
    frame.loc[3, "accuracy"] = np.nan
    frame.loc[4, "status"] = "running"
    fig = plots.plot_tradeoffs(compare(frame))
    assert len(fig.axes) == 4
    ax_co2, ax_quality, ax_time, ax_per_point = fig.axes
    # Time vs CO2: every finished run (the failed one consumed energy too); quality: ok runs.
    assert len(_run_points(ax_time)) == 29
    assert len(_run_points(ax_quality)) == 28
    np.testing.assert_allclose(
        np.sort(_run_points(ax_quality)[:, 0]),
        np.sort(frame["accuracy"][frame["status"] == "ok"]),
    )
    # Repeated labels: one bar per label, mean height, error bars for the spread.
    assert len(_by_gid(ax_co2, "bars")) == 5
    assert _by_gid(ax_time, "spread")
    (means,) = _by_gid(ax_quality, "label-means")
    assert len(means.get_offsets()) == 5


def test_bar_heights_are_label_means_in_the_chosen_unit():
    frame = make_frame(
        [
            {"label": "x", "emissions_kg": 2e-6},
            {"label": "x", "emissions_kg": 4e-6},
            {"label": "y", "emissions_kg": 9e-6},
        ]
    )
    fig = plots.plot_tradeoffs(compare(frame))
    ax_co2 = fig.axes[0]
    heights = [patch.get_height() for patch in _by_gid(ax_co2, "bars")]
    np.testing.assert_allclose(heights, [3.0, 9.0])  # mg
    assert ax_co2.get_ylabel() == "CO2 (mg)"
    assert [t.get_text() for t in ax_co2.get_xticklabels()] == ["x", "y"]


@pytest.mark.parametrize(("kg", "unit"), [(3e-6, "mg"), (3e-3, "g"), (4.0, "kg")])
def test_co2_axis_unit_follows_the_data(kg, unit):
    frame = make_frame([{"label": "a", "emissions_kg": kg}, {"label": "b", "emissions_kg": 2 * kg}])
    fig = plots.plot_tradeoffs(compare(frame))
    assert fig.axes[0].get_ylabel() == f"CO2 ({unit})"
    assert fig.axes[2].get_ylabel() == f"CO2 ({unit})"


def test_pareto_front_and_best_tradeoff_are_drawn():
    frame = _known_frame()
    fig = plots.plot_tradeoffs(compare(frame))
    ax_quality = fig.axes[1]
    (line,) = _by_gid(ax_quality, "pareto")
    expected = frame[metrics.pareto_front(frame, "accuracy")].sort_values("emissions_kg")
    np.testing.assert_allclose(line.get_xdata(), expected["accuracy"])
    np.testing.assert_allclose(line.get_ydata(), expected["emissions_kg"] * 1e6)
    (ring,) = _by_gid(ax_quality, "best")
    best = frame.loc[metrics.best_tradeoff(frame)]
    np.testing.assert_allclose(
        ring.get_offsets()[0], [best["accuracy"], best["emissions_kg"] * 1e6]
    )
    legend = [t.get_text() for t in ax_quality.get_legend().get_texts()]
    assert f"best trade-off: {best['label']}" in legend


def test_lower_is_better_metric_inverts_the_axis():
    frame = make_frame(
        [
            {"label": "a", "rmse": 0.3, "emissions_kg": 1e-6},
            {"label": "b", "rmse": 0.2, "emissions_kg": 2e-6},
        ],
        metrics=["rmse"],
    )
    ax_quality = plots.plot_tradeoffs(compare(frame)).axes[1]
    assert ax_quality.xaxis_inverted()
    assert "lower is better" in ax_quality.get_xlabel()
    (line,) = _by_gid(ax_quality, "pareto")
    assert len(line.get_xdata()) == 2  # b: better rmse, a: less CO2


@pytest.mark.parametrize("metric", ["accuracy", "$acc$", "$err$_rmse"])
def test_labels_are_literal_text_never_markup_or_mathtext(metric):
    frame = make_frame(
        [
            {"label": XSS_LABEL, metric: 0.9, "emissions_kg": 1e-6},
            {"label": "cost $x$ y", metric: 0.8, "emissions_kg": 2e-6},
        ],
        metrics=[metric],
    )
    fig = plots.plot_tradeoffs(compare(frame))
    texts = _texts(fig)
    user_texts = [t for t in texts if "$" in t.get_text() or "<img" in t.get_text()]
    assert any("cost $x$ y" == t.get_text() for t in user_texts)
    if "$" in metric:
        assert sum(metric in t.get_text() for t in user_texts) >= 3  # title, x label, y label
    assert any(t.get_text() == plots.short(XSS_LABEL) for t in user_texts)
    assert all(t.get_parse_math() is False for t in user_texts)
    assert plots.figure_to_png_bytes(fig).startswith(PNG_SIGNATURE)  # mathtext would raise


def test_empty_ledger_draws_a_message_in_every_axes():
    fig = plots.plot_tradeoffs(compare(make_frame([])))
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert _by_gid(ax, "message")
    assert plots.figure_to_png_bytes(fig).startswith(PNG_SIGNATURE)


def test_single_run_and_no_metric():
    frame = make_frame([{"label": "only", "emissions_kg": 1e-6}])
    fig = plots.plot_tradeoffs(compare(frame))
    assert len(_run_points(fig.axes[2])) == 1
    assert _by_gid(fig.axes[1], "message") and _by_gid(fig.axes[3], "message")
    single = make_frame([{"label": "only", "emissions_kg": 1e-6, "f1": 0.5}], metrics=["f1"])
    fig = plots.plot_tradeoffs(compare(single))
    assert len(_run_points(fig.axes[1])) == 1
    assert not _by_gid(fig.axes[1], "pareto")  # one point is not a front
    assert plots.figure_to_png_bytes(fig, dpi=50).startswith(PNG_SIGNATURE)


def test_many_labels_are_capped_for_bars():
    frame = random_frame(60, n_labels=60)
    fig = plots.plot_tradeoffs(compare(frame), max_labels=10)
    assert len(_by_gid(fig.axes[0], "bars")) == 10
    assert "10 most recent of 60 labels" in fig.axes[0].get_title()
    assert len(_run_points(fig.axes[2])) == 60


def test_does_not_touch_pyplot_state():
    with plt.rc_context({"figure.figsize": (1, 1)}):
        fig = plots.plot_tradeoffs(compare(random_frame(5)))
    assert not hasattr(fig.canvas, "manager") or fig.canvas.manager is None
    assert list(fig.get_size_inches()) == list(plots.FIGURE_SIZE_IN)


@pytest.mark.parametrize(("seconds", "unit"), [(0.02, "ms"), (30.0, "s"), (600.0, "min")])
def test_run_time_axis_unit_follows_the_data(seconds, unit):
    frame = make_frame(
        [{"label": "a", "emissions_kg": 1e-6, "duration_s": seconds}]
        + [{"label": "b", "emissions_kg": 2e-6, "duration_s": 2 * seconds}]
    )
    ax_time = plots.plot_tradeoffs(compare(frame)).axes[2]
    assert ax_time.get_xlabel() == f"run time ({unit})"
    factor = {"ms": 1e-3, "s": 1.0, "min": 60.0}[unit]
    np.testing.assert_allclose(_run_points(ax_time)[:, 0], [seconds / factor, 2 * seconds / factor])
