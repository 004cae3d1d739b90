"""How big a fitted model is, in numbers it stores: ``mlcost_magic.model_size(estimator)``.

* trees and forests (random forests, extra trees, gradient boosting, bagging of trees):
  tree nodes, summed over the trees;
* neural networks (``MLPClassifier``, ``MLPRegressor``): weights and biases;
* nearest neighbours: the training values kept (stored samples x features);
* linear models: coefficients and intercepts;
* a pipeline: its final estimator.

Duck-typed on scikit-learn's fitted attributes (``tree_``, ``estimators_``, ``coefs_``,
``n_samples_fit_``, ``coef_``), so scikit-learn is never imported here. Anything else, an
unfitted estimator included, is a one-line ``TypeError``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["model_size"]

SIZED = "fitted forests and trees, MLPs, nearest neighbours, linear models, pipelines"


def model_size(model: Any) -> int:
    """The numbers a fitted model stores (see the module docstring); TypeError otherwise."""
    return _size(model, "")


def _size(model: Any, within: str) -> int:
    name = type(model).__name__
    if hasattr(model, "steps"):  # Pipeline: its last step does the predicting
        steps = model.steps
        final = steps[-1][1] if steps else None
        if final is None or isinstance(final, str):  # 'passthrough', None
            raise TypeError(f"model_size(): {name} has no final estimator to size")
        return _size(final, f"{within}{name}'s final step ")
    if hasattr(model, "tree_"):
        return int(model.tree_.node_count)
    if hasattr(model, "estimators_"):  # forests, boosting (a 2-D array of trees), bagging
        estimators = model.estimators_
        flat = estimators.ravel() if hasattr(estimators, "ravel") else estimators
        return int(sum(_size(estimator, within) for estimator in flat))
    if hasattr(model, "coefs_"):  # MLP
        weights = sum(w.size for w in model.coefs_)
        return int(weights + sum(b.size for b in model.intercepts_))
    if hasattr(model, "n_samples_fit_"):  # nearest neighbours keep their training set
        return int(model.n_samples_fit_ * getattr(model, "n_features_in_", 1))
    if hasattr(model, "coef_"):  # linear models
        intercept = getattr(model, "intercept_", ())
        return int(model.coef_.size + getattr(intercept, "size", len(intercept)))
    if hasattr(model, "fit") and not _fitted(model):
        raise TypeError(f"model_size(): {within}{name} is not fitted: call fit() first")
    raise TypeError(f"model_size() cannot size {within}{name} (it sizes {SIZED})")


def _fitted(model: Any) -> bool:
    """scikit-learn's own test: a fitted estimator has attributes ending in '_'."""
    try:
        names = vars(model)
    except TypeError:  # no __dict__
        return False
    return any(n.endswith("_") and not n.startswith("__") for n in names)
