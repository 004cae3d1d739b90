# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Inference cost and model size
#
# Training happens once; a deployed model predicts again and again. The
# mlflow-emissions-sdk benchmark measured both, and found that a model cheap to train can
# be costly to use. Here: three scikit-learn models, their training CO2, accuracy per
# gram of CO2, CO2 per 1,000 predictions, and how all of it relates to model size.

# %% [markdown]
# ## Setup
#
# The data is the 3-class synthetic problem from notebook 01. To measure inference, each
# model predicts a batch of 20,000 rows (the test set, repeated).

# %%
# %load_ext mlcost_magic

# %% tags=["dataset"]
import warnings

import numpy as np
from IPython.display import Markdown
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlcost_magic
from mlcost_magic import model_size
from mlcost_magic.tutorials.datasets import make_rf_sizes_data
from mlcost_magic.units import format_mass

warnings.filterwarnings("ignore", category=ConvergenceWarning)

data = make_rf_sizes_data(n_samples=10_000)
X_train, X_test, y_train, y_test = data
X_batch = np.tile(X_test, (10, 1))
print(data.describe())
print(f"Inference batch: {len(X_batch):,} rows")

# %% [markdown]
# ## Train the three models, measured
#
# `model_size` counts what each model stores: tree nodes for the forest, weights and
# biases for the MLP, and the whole training set for KNN. `run.log_size` records it with
# the run (in a `%%carbon` cell: `--size model`).

# %% tags=["train"]
models = {
    "Random Forest": RandomForestClassifier(
        n_estimators=100, max_depth=15, n_jobs=-1, random_state=42
    ),
    "MLP": make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=60, random_state=42),
    ),
    "KNN": make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5)),
}
for name, model in models.items():
    with mlcost_magic.track(name, tags={"model": name}) as run:
        model.fit(X_train, y_train)
        acc = accuracy_score(y_test, model.predict(X_test))
        run.log_metric("accuracy", acc)
        run.log_size(model_size(model))
    print(f"{name:>13}: accuracy {acc:.3f}, size {run.model_size:,}")

# %% [markdown]
# ## Measure inference with `track_inference`
#
# `track_inference(model, X)` runs `model.predict(X)` as an *inference* run and records
# how many predictions it made, so the ledger can give CO2 per 1,000 predictions.

# %%
for name, model in models.items():
    run = mlcost_magic.track_inference(model, X_batch, label=name)
    print(f"{name:>13}: {len(run.result):,} predictions")

# %% [markdown]
# ## Training and inference side by side
#
# `accuracy_per_g_co2` is accuracy per gram of training CO2 (higher is better);
# `emissions_kg_per_1k_inferences` is the CO2 of 1,000 predictions.

# %%
runs = mlcost_magic.current_session().to_frame()
ok = runs[runs["status"] == "ok"]
training = ok[ok["kind"] == "training"].set_index("label")
inference = ok[ok["kind"] == "inference"].set_index("label")
summary = training[["emissions_kg", "accuracy", "accuracy_per_g_co2", "model_size"]].rename(
    columns={"emissions_kg": "training_emissions_kg"}
)
summary["emissions_kg_per_1k_inferences"] = inference["emissions_kg_per_1k_inferences"]
summary

# %% [markdown]
# ## Accuracy against training CO2, sized by model size
#
# `%carbon plot --size` draws one bubble per model (mlflow-emissions-sdk's chart): accuracy
# against its training CO2, the bubble's area proportional to the size the run recorded.
# The inference runs recorded no size and no accuracy, so they are not drawn.

# %% tags=["figure"]
# %carbon plot --size

# %% [markdown]
# ## Try this
#
# * Make the forest bigger (`n_estimators=300`): how do its size, training CO2 and CO2
#   per 1,000 predictions move?
# * Give KNN `algorithm="brute"` and compare its inference cost again.

# %% [markdown]
# ## What we learned
#
# Computed from this session's ledger:

# %% tags=["learned"]
cheapest_training = summary["training_emissions_kg"].idxmin()
costliest_training = summary["training_emissions_kg"].idxmax()
cheapest_inference = summary["emissions_kg_per_1k_inferences"].idxmin()
costliest_inference = summary["emissions_kg_per_1k_inferences"].idxmax()
most_efficient = summary["accuracy_per_g_co2"].idxmax()
largest = summary["model_size"].idxmax()
per_1k = summary["emissions_kg_per_1k_inferences"]
Markdown(
    f"- Cheapest to train: **{cheapest_training}**; costliest: **{costliest_training}**.\n"
    f"- Cheapest per 1,000 predictions: **{cheapest_inference}** "
    f"({format_mass(per_1k[cheapest_inference])}); costliest: "
    f"**{costliest_inference}** ({format_mass(per_1k[costliest_inference])}).\n"
    f"- Most accuracy per gram of training CO2: **{most_efficient}**.\n"
    f"- Largest model: **{largest}** ({summary.loc[largest, 'model_size']:,} stored "
    "numbers)."
)
