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
# # Random Forest, MLP or KNN: accuracy against energy
#
# The MLCost final-year project compared three classic algorithms, a Random Forest, a
# small neural network (MLP) and k-nearest neighbours (KNN), on an easy data set and a
# harder one, and asked which gives the best accuracy for the energy it uses. This
# notebook repeats that study on your machine.

# %% [markdown]
# ## The data
#
# *Iris* is the easy one (150 flowers, 4 measurements). The harder one is *EEG Eye
# State* (14,980 EEG recordings, eyes open or closed) from OpenML. mlcost-magic never
# goes online by default: set `MLCOST_ALLOW_DOWNLOAD=1` to download it, or
# `MLCOST_EEG_CSV=/path/to/eeg.csv` to use a local copy. Without either, the notebook
# uses scikit-learn's bundled *digits* (1,797 handwritten digits) and says so below.

# %%
# %load_ext mlcost_magic

# %% tags=["dataset"]
import warnings

from IPython.display import Markdown
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlcost_magic
from mlcost_magic.tutorials.datasets import load_harder_dataset, load_iris_split
from mlcost_magic.units import format_energy

# The MLP is kept short on purpose so the notebook runs in seconds.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

iris = load_iris_split()
harder = load_harder_dataset()
for data in (iris, harder):
    print(data.describe())

# %% [markdown]
# ## The three algorithms
#
# The MLP and KNN depend on the scale of the features, so they get a `StandardScaler`
# first. A fresh set of models for each data set:


# %%
def make_models():
    forest = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=42)
    mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=200, random_state=42)
    knn = KNeighborsClassifier(n_neighbors=5)
    return {
        "Random Forest": forest,
        "MLP": make_pipeline(StandardScaler(), mlp),
        "KNN": make_pipeline(StandardScaler(), knn),
    }


# %% [markdown]
# ## Train and test each one, measured
#
# Each run covers training and scoring the test set: KNN does almost nothing when it
# trains and all its work when it predicts, so measuring only `fit` would flatter it.
#
# An Iris fit takes a few milliseconds: one measurement of it is a guess (the OS counts
# child processes' CPU time in 10 ms ticks). So each Iris model is measured five times with
# `mlcost_magic.repeat`, after one unrecorded warm-up; its summary line gives the mean, the
# standard deviation and a 95 % confidence interval. The harder data set runs long enough
# for one measurement.

# %% tags=["repeats"]
REPEATS = {"Iris": 5}


def fit_and_score(model, data):
    model.fit(data.X_train, data.y_train)
    return {"accuracy": accuracy_score(data.y_test, model.predict(data.X_test))}


for data in (iris, harder):
    repeats = REPEATS.get(data.name, 1)
    for algorithm, model in make_models().items():
        group = mlcost_magic.repeat(
            f"{algorithm} / {data.name}",
            repeats,
            lambda model=model, data=data: fit_and_score(model, data),
            warmup=1 if repeats > 1 else 0,
            tags={"algorithm": algorithm, "dataset": data.name},
        )

# %% [markdown]
# ## Side by side
#
# Energy in milliwatt-hours (mWh) and accuracy, per algorithm and data set.

# %%
runs = mlcost_magic.current_session().to_frame()
ok = runs[runs["status"] == "ok"].copy()
ok["algorithm"] = ok["tags"].map(lambda tags: tags["algorithm"])
ok["dataset"] = ok["tags"].map(lambda tags: tags["dataset"])
ok["energy_mwh"] = ok["energy_kwh"] * 1e6
side_by_side = ok.pivot_table(
    index="algorithm", columns="dataset", values=["energy_mwh", "accuracy"]
)
side_by_side.round(3)

# %% [markdown]
# ## The panel
#
# The table and the four trade-off plots for all six runs.

# %% tags=["panel"]
# %carbon panel

# %% [markdown]
# ## Try this
#
# * Give the MLP two hidden layers, `hidden_layer_sizes=(128, 64)`, and run again.
#   How much energy does the extra accuracy (if any) cost?
# * With a network connection, run `MLCOST_ALLOW_DOWNLOAD=1 jupyter lab` and repeat the
#   study on the real EEG Eye State data.

# %% [markdown]
# ## What we measured
#
# Computed from this session's ledger:

# %% tags=["learned"]
lines = []
for dataset, group in ok.groupby("dataset", sort=False):
    means = group.groupby("algorithm")[["energy_kwh", "accuracy"]].mean()  # over repeats
    most, least = means["energy_kwh"].idxmax(), means["energy_kwh"].idxmin()
    lines.append(
        f"- On **{dataset}**, **{most}** cost the most energy "
        f"({format_energy(means.loc[most, 'energy_kwh'])}, accuracy "
        f"{means.loc[most, 'accuracy']:.3f}) and **{least}** the least "
        f"({format_energy(means.loc[least, 'energy_kwh'])}, accuracy "
        f"{means.loc[least, 'accuracy']:.3f}), mean of {len(group) // len(means)} run(s) each."
    )
if harder.is_fallback:
    lines.append(f"- The harder data set was **{harder.name}**: {harder.note}")
Markdown("\n".join(lines))
