"""Derived trade-off columns, metric choice, lower-is-better, Pareto front, best trade-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ledger_frames import make_frame, random_frame

from mlcost_magic.compare import tradeoffs as metrics


def test_metric_columns_are_everything_but_ledger_and_derived_columns():
    frame = make_frame([{"label": "a", "emissions_kg": 1e-6, "f1": 0.5}], metrics=["rmse", "f1"])
    assert metrics.metric_columns(frame) == ["rmse", "f1"]
    frame["note"] = "text"  # a text column is never a metric
    frame["flag"] = True
    assert metrics.metric_columns(frame) == ["rmse", "f1"]
    derived = metrics.add_derived_columns(frame)  # judged by rmse, the first metric
    assert metrics.metric_columns(derived) == ["rmse", "f1"]
    assert {"emissions_kg_per_inv_rmse_point", "inv_rmse_per_g_co2"} <= set(derived.columns)
    assert set(metrics.INFERENCE_COLUMNS) <= set(derived.columns)
    # Another metric replaces the first one's columns instead of adding to them.
    by_f1 = metrics.add_derived_columns(derived, "f1")
    assert "inv_rmse_per_g_co2" not in by_f1.columns and "f1_per_g_co2" in by_f1.columns
    assert metrics.metric_columns(by_f1) == ["rmse", "f1"]


@pytest.mark.parametrize(
    ("metric", "lower", "per_point", "per_gram"),
    [
        ("accuracy", False, "emissions_kg_per_accuracy_point", "accuracy_per_g_co2"),
        ("f1", False, "emissions_kg_per_f1_point", "f1_per_g_co2"),
        ("rmse", True, "emissions_kg_per_inv_rmse_point", "inv_rmse_per_g_co2"),
        ("f1 macro", False, "emissions_kg_per_f1_macro_point", "f1_macro_per_g_co2"),
    ],
)
def test_derived_columns_are_named_after_their_metric(metric, lower, per_point, per_gram):
    assert metrics.per_point_column(metric, lower) == per_point
    assert metrics.per_gram_column(metric, lower) == per_gram
    assert metrics.is_derived_column(per_point) and metrics.is_derived_column(per_gram)
    assert not metrics.is_derived_column(metric)


@pytest.mark.parametrize(
    ("name", "lower"),
    [
        ("rmse", True),
        ("val_loss", True),
        ("error_rate", True),
        ("MAE", True),
        ("test-mse", True),
        ("top5_err", True),
        ("perplexity", True),
        ("accuracy", False),
        ("f1", False),
        ("r2", False),
        ("roc_auc", False),
        ("neg_mean_squared_error", False),
        ("precision", False),
    ],
)
def test_lower_is_better_by_name(name, lower):
    assert metrics.is_lower_better(name) is lower


def test_choose_metric_prefers_given_then_accuracy_then_first():
    frame = make_frame([{"label": "a", "emissions_kg": 1e-6}], metrics=["f1", "accuracy"])
    assert metrics.choose_metric(frame) == "accuracy"
    assert metrics.choose_metric(frame, "f1") == "f1"
    assert metrics.choose_metric(frame.drop(columns="accuracy")) == "f1"
    assert metrics.choose_metric(frame.drop(columns=["accuracy", "f1"])) is None
    with pytest.raises(ValueError, match="no metric 'bleu'"):
        metrics.choose_metric(frame, "bleu")
    with pytest.raises(ValueError, match="no metric 'label'"):  # a column, but not a metric
        metrics.choose_metric(frame, "label")


def test_co2_per_point_and_points_per_gram_follow_codecarbon_and_mlflow_emissions():
    emissions_kg = np.array([2e-6, 5e-3, 1e-4])
    accuracy = np.array([0.8, 0.95, 0.5])
    frame = make_frame(
        [
            {"label": f"m{i}", "emissions_kg": e, "accuracy": a}
            for i, (e, a) in enumerate(zip(emissions_kg, accuracy, strict=True))
        ],
        metrics=["accuracy"],
    )
    derived = metrics.add_derived_columns(frame)
    # CodeCarbon tutorial: emissions / test_score; mlflow-emissions-sdk: acc / (kg * 1000).
    np.testing.assert_allclose(derived["emissions_kg_per_accuracy_point"], emissions_kg / accuracy)
    np.testing.assert_allclose(derived["accuracy_per_g_co2"], accuracy / (emissions_kg * 1000))
    assert "emissions_kg_per_accuracy_point" not in frame.columns  # the input is not modified


def test_lower_is_better_metric_uses_its_reciprocal_as_quality():
    emissions_kg = np.array([1e-5, 3e-5])
    rmse = np.array([0.2, 0.5])
    frame = make_frame(
        [
            {"label": "a", "emissions_kg": emissions_kg[0], "rmse": rmse[0]},
            {"label": "b", "emissions_kg": emissions_kg[1], "rmse": rmse[1]},
        ],
        metrics=["rmse"],
    )
    derived = metrics.add_derived_columns(frame)
    np.testing.assert_allclose(derived["emissions_kg_per_inv_rmse_point"], emissions_kg * rmse)
    np.testing.assert_allclose(derived["inv_rmse_per_g_co2"], 1 / (rmse * emissions_kg * 1000))
    # Forcing higher-is-better gives the plain ratio, under the plain name.
    forced = metrics.add_derived_columns(frame, "rmse", lower_is_better=False)
    np.testing.assert_allclose(forced["emissions_kg_per_rmse_point"], emissions_kg / rmse)


def test_undefined_ratios_are_nan_not_inf():
    frame = make_frame(
        [
            {"label": "zero", "emissions_kg": 1e-6, "accuracy": 0.0},
            {"label": "missing", "emissions_kg": 1e-6},
            {"label": "no co2", "emissions_kg": 0.0, "accuracy": 0.9},
        ],
        metrics=["accuracy"],
    )
    derived = metrics.add_derived_columns(frame)
    columns = [c for c in derived.columns if metrics.is_derived_column(c)]
    assert len(columns) == 4
    assert not np.isinf(derived[columns].to_numpy(dtype=float)).any()
    assert derived["emissions_kg_per_accuracy_point"].iloc[:2].isna().all()
    assert derived["emissions_kg_per_accuracy_point"].iloc[2] == 0.0
    assert np.isnan(derived["accuracy_per_g_co2"].iloc[2])


def test_per_1k_inferences_only_for_inference_runs():
    frame = make_frame(
        [
            {"label": "serve", "kind": "inference", "inferences": 500, "emissions_kg": 4e-6},
            {"label": "train", "kind": "training", "inferences": 500, "emissions_kg": 4e-6},
            {"label": "none", "kind": "inference", "inferences": 0, "emissions_kg": 4e-6},
            {"label": "unknown", "kind": "inference", "emissions_kg": 4e-6},
        ]
    )
    derived = metrics.add_derived_columns(frame)
    energy = frame["energy_kwh"].iloc[0]
    assert derived["energy_kwh_per_1k_inferences"].iloc[0] == pytest.approx(energy * 1000 / 500)
    assert derived["emissions_kg_per_1k_inferences"].iloc[0] == pytest.approx(4e-6 * 1000 / 500)
    assert derived["emissions_kg_per_1k_inferences"].iloc[1:].isna().all()


def test_empty_and_metricless_frames():
    empty = metrics.add_derived_columns(make_frame([]))
    assert empty.empty and set(metrics.INFERENCE_COLUMNS) <= set(empty.columns)
    bare = metrics.add_derived_columns(make_frame([{"label": "a", "emissions_kg": 1e-6}]))
    assert bare[list(metrics.INFERENCE_COLUMNS)].isna().all().all()
    assert not any(c.endswith("_per_g_co2") for c in bare.columns)  # no metric, no quality
    assert metrics.best_tradeoff(bare) is None
    assert metrics.add_derived_columns(pd.DataFrame()).shape == (0, 2)


def test_add_derived_columns_is_idempotent():
    frame = random_frame(10_000)
    once = metrics.add_derived_columns(frame)
    twice = metrics.add_derived_columns(once)
    pd.testing.assert_frame_equal(once, twice)


def _known_frame(metric="accuracy"):
    # (metric, CO2 mg): a dominates b; c and d tie on metric, d costs more; e failed.
    points = {
        "a": (0.90, 1.0),
        "b": (0.80, 2.0),
        "c": (0.95, 3.0),
        "d": (0.95, 4.0),
        "e": (0.99, 0.5),
        "f": (0.70, 0.8),
    }
    runs = [
        {"label": label, metric: value, "emissions_kg": mg * 1e-6}
        for label, (value, mg) in points.items()
    ]
    runs[4]["status"] = "error"
    return make_frame(runs, metrics=[metric])


def test_pareto_front_on_a_known_frame():
    frame = _known_frame()
    front = metrics.pareto_front(frame, "accuracy")
    assert list(frame["label"][front]) == ["a", "c", "f"]
    assert front.index.equals(frame.index)


def test_pareto_front_lower_is_better_turns_the_metric_round():
    frame = _known_frame("rmse")
    front = metrics.pareto_front(frame, "rmse")
    # With rmse, lower values win: b (0.80 at 2 mg) and f (0.70 at 0.8 mg) beat a and c.
    assert list(frame["label"][front]) == ["f"]
    frame.loc[frame["label"] == "b", "emissions_kg"] = 0.1e-6
    front = metrics.pareto_front(frame, "rmse")
    # Now b is cheapest; f still has the best rmse: both are on the front.
    assert list(frame["label"][front]) == ["b", "f"]


def test_pareto_front_keeps_identical_points():
    frame = make_frame(
        [{"label": x, "accuracy": 0.9, "emissions_kg": 1e-6} for x in "xy"], metrics=["accuracy"]
    )
    assert metrics.pareto_front(frame, "accuracy").all()


def test_best_tradeoff_is_lowest_co2_per_point_among_ok_runs():
    frame = _known_frame()
    best = metrics.best_tradeoff(frame)
    per_point = frame["emissions_kg"] / frame["accuracy"]
    per_point[frame["status"] != "ok"] = np.inf
    assert best == per_point.idxmin()
    assert frame.loc[best, "label"] == "a"  # 1.0/0.90 mg per point beats f's 0.8/0.70
    assert metrics.pareto_front(frame, "accuracy")[best]
