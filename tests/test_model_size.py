"""Model size: ``mlcost_magic.model_size`` on real fitted scikit-learn models, ``run.log_size``
and ``%%carbon --size EXPR`` in a real shell, the ``model_size`` ledger column."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import run_cell, session_frame
from sklearn.datasets import load_iris
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import mlcost_magic
from mlcost_magic import MlcostWarning, model_size
from mlcost_magic.errors import MetricWarning

pytestmark = pytest.mark.usefixtures("clean_user_ns")

X, Y = load_iris(return_X_y=True)  # 150 samples, 4 features, 3 classes


def _nodes(forest) -> int:
    return sum(tree.tree_.node_count for tree in np.ravel(forest.estimators_))


@pytest.mark.parametrize(
    "forest",
    [
        RandomForestClassifier(n_estimators=7, max_depth=4, random_state=0),
        ExtraTreesClassifier(n_estimators=3, random_state=0),
        RandomForestRegressor(n_estimators=4, max_depth=3, random_state=0),
        GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0),  # 5 x 3 trees
    ],
    ids=lambda forest: type(forest).__name__,
)
def test_a_forest_is_its_tree_nodes(forest):
    forest.fit(X, Y)
    nodes = _nodes(forest)
    assert nodes > len(np.ravel(forest.estimators_))  # more than one node per tree
    assert model_size(forest) == nodes


def test_a_tree_an_mlp_knn_a_linear_model_and_pipelines():
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, Y)
    assert model_size(tree) == tree.tree_.node_count
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=5, random_state=0).fit(X, Y)
    # 4 -> 8 -> 5 -> 3: weights 4*8 + 8*5 + 5*3, biases 8 + 5 + 3.
    assert model_size(mlp) == 4 * 8 + 8 * 5 + 5 * 3 + 8 + 5 + 3
    knn = KNeighborsClassifier().fit(X[:100], Y[:100])
    assert model_size(knn) == 100 * 4  # stored samples x features
    linear = LogisticRegression(max_iter=500).fit(X, Y)
    assert model_size(linear) == 3 * 4 + 3
    pipeline = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X, Y)
    assert model_size(pipeline) == 150 * 4  # the final estimator
    nested = make_pipeline(make_pipeline(StandardScaler(), DecisionTreeClassifier()))
    nested.fit(X, Y)
    assert model_size(nested) == nested.steps[-1][1].steps[-1][1].tree_.node_count


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (RandomForestClassifier(), "model_size(): RandomForestClassifier is not fitted: call fit"),
        (MLPClassifier(), "MLPClassifier is not fitted"),
        (
            make_pipeline(StandardScaler(), KNeighborsClassifier()),
            "Pipeline's final step KNeighborsClassifier is not fitted",
        ),
        (SVC().fit(X, Y), "model_size() cannot size SVC (it sizes fitted forests"),
        (object(), "cannot size object"),
        ("RF", "cannot size str"),
        (make_pipeline(StandardScaler(), "passthrough"), "Pipeline has no final estimator"),
    ],
    ids=["unfitted forest", "unfitted mlp", "unfitted pipeline", "svc", "object", "str", "none"],
)
def test_what_it_cannot_size_is_one_clear_type_error(model, message):
    with pytest.raises(TypeError) as caught:
        model_size(model)
    assert message in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def test_public_and_cheap_the_tutorials_import_still_works():
    from mlcost_magic.tutorials.datasets import model_size as tutorial_model_size

    assert tutorial_model_size is mlcost_magic.model_size
    assert "model_size" in mlcost_magic.__all__
    code = (
        "import sys, mlcost_magic\n"
        "size = mlcost_magic.model_size\n"
        "print(sorted({'sklearn', 'numpy', 'pandas'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- recording a size -------------------------------------------------------------------------


def test_run_log_size_takes_a_whole_number_and_refuses_anything_else(ledger_path):
    from mlcost_magic.measure.settings import Settings
    from mlcost_magic.session import Session

    session = Session(Settings(ledger_path=ledger_path))
    try:
        with session.track("sized", quiet=True) as run:
            for bad in (-1, 2.5, True, "12", None, 2**60, np.float32(3), RandomForestClassifier()):
                with pytest.raises(ValueError) as caught:
                    run.log_size(bad)
                assert len(str(caught.value).splitlines()) == 1
                assert "model size must be a whole number from 0 to 2**53" in str(caught.value)
            run.log_size(np.int64(1234))
            run.log_size(4321.0)  # a whole number written as a float
        with pytest.raises(RuntimeError, match="has ended"):
            run.log_size(1)
        assert run.model_size == 4321 and "size 4,321" in run.summary()
        row = session.read_runs().iloc[-1]
        assert row["model_size"] == 4321
    finally:
        session.close()


CELL = (
    "from sklearn.datasets import load_iris\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "X, y = load_iris(return_X_y=True)\n"
    "clf = RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0).fit(X, y)\n"
)


def test_size_of_a_model_an_expression_and_a_count(shell, capsys):
    run_cell(shell, "from mlcost_magic import model_size")
    assert run_cell(shell, f"%%carbon 'RF model' --size clf\n{CELL}").success
    run_cell(shell, f"%%carbon 'RF expr' --size model_size(clf)\n{CELL}")
    run_cell(shell, '%%carbon "a count" --size "3 * 1000"\npass')
    run_cell(shell, "%%carbon logged\nimport mlcost_magic\nmlcost_magic.log_size(77)")
    frame = session_frame(shell).set_index("label")
    nodes = sum(tree.tree_.node_count for tree in shell.user_ns["clf"].estimators_)
    assert frame.loc["RF model", "model_size"] == nodes
    assert frame.loc["RF expr", "model_size"] == nodes
    assert frame.loc["a count", "model_size"] == 3000
    assert frame.loc["logged", "model_size"] == 77
    assert f"size {nodes:,}" in capsys.readouterr().out
    table = shell.run_line_magic("carbon", "table")
    assert table["model_size"].tolist() == [nodes, nodes, 3000, 77]


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("nope", "NameError: name 'nope' is not defined"),
        ("RandomForestClassifier()", "RandomForestClassifier is not fitted"),
        ("-5", "model size must be a whole number"),
        ("'big'", "cannot size str"),
        ("1/0", "ZeroDivisionError"),
    ],
)
def test_a_bad_size_warns_in_one_line_and_the_run_is_still_recorded(shell, expression, why):
    run_cell(shell, "from sklearn.ensemble import RandomForestClassifier")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_cell(shell, f'%%carbon unsized --size "{expression}"\nran = True')
    assert result.success and shell.user_ns["ran"] is True
    ours = [w for w in caught if issubclass(w.category, MlcostWarning)]
    assert [w.category for w in ours] == [MetricWarning]
    message = str(ours[0].message)
    assert why in message and "run 'unsized' recorded without it" in message
    assert len(message.splitlines()) == 1
    row = session_frame(shell).iloc[-1]
    assert row["label"] == "unsized" and row["status"] == "ok" and pd.isna(row["model_size"])


def test_a_size_that_does_not_compile_is_refused_and_nothing_runs(shell):
    result = run_cell(shell, "%%carbon --size (1\nran_anyway = True")
    assert "--size (1: '(' was never closed" in str(result.error_in_exec)
    assert "ran_anyway" not in shell.user_ns and len(session_frame(shell)) == 0


def test_a_failed_cell_records_no_size_and_repeats_each_record_one(shell):
    result = run_cell(shell, "%%carbon broken --size 10\nraise ValueError('boom')")
    assert isinstance(result.error_in_exec, ValueError)
    run_cell(shell, "%%carbon -q repeated --repeat 2 --size 10\npass")
    frame = session_frame(shell)
    assert pd.isna(frame.set_index("label").loc["broken", "model_size"])
    assert frame[frame["label"] == "repeated"]["model_size"].tolist() == [10, 10]
