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
# # How much does a bigger Random Forest cost?
#
# CodeCarbon's model-comparison tutorial trains a small, a medium and a large Random
# Forest and asks which one gives the most accuracy per gram of CO2. Here we do the same
# with mlcost-magic, twice: once as a loop with `mlcost_magic.track`, once with one
# `%%carbon` cell per model. Measuring the same thing twice also shows how much a
# measurement varies.

# %% [markdown]
# ## Setup
#
# Load the extension and the tools. The data is CodeCarbon's: 10,000 samples, 20
# features (15 informative), 3 classes, 80/20 split.

# %%
# %load_ext mlcost_magic

# %% tags=["dataset"]
from IPython.display import Markdown
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score

import mlcost_magic
from mlcost_magic.tutorials.datasets import make_rf_sizes_data
from mlcost_magic.units import format_mass

data = make_rf_sizes_data(n_samples=10_000)
X_train, X_test, y_train, y_test = data
print(data.describe())

# %% [markdown]
# ## Three sizes
#
# More trees and deeper trees: more work, and maybe more accuracy.

# %%
SIZES = {
    "Small RF": {"n_estimators": 50, "max_depth": 10},
    "Medium RF": {"n_estimators": 100, "max_depth": 15},
    "Large RF": {"n_estimators": 200, "max_depth": 20},
}

# %% [markdown]
# ## Way 1: a loop with `track`
#
# Each turn of the loop is one run in the ledger. `tags` keep the settings with it.

# %%
for label, params in SIZES.items():
    with mlcost_magic.track(label, tags={"way": "loop", **params}) as run:
        model = RandomForestClassifier(**params, n_jobs=-1, random_state=42)
        model.fit(X_train, y_train)
        acc = accuracy_score(y_test, model.predict(X_test))
        run.log_metric("accuracy", acc)
    print(f"{label}: accuracy {acc:.3f}")

# %% [markdown]
# ## Way 2: one `%%carbon` cell per model
#
# The same three models, one cell each, with the same labels (and a `way=cell` tag): the
# ledger then holds two measurements of each model.

# %%
# %%carbon "Small RF" --metric accuracy=acc --tag way=cell
small = RandomForestClassifier(n_estimators=50, max_depth=10, n_jobs=-1, random_state=42)
small.fit(X_train, y_train)
acc = accuracy_score(y_test, small.predict(X_test))

# %%
# %%carbon "Medium RF" --metric accuracy=acc --tag way=cell
medium = RandomForestClassifier(n_estimators=100, max_depth=15, n_jobs=-1, random_state=42)
medium.fit(X_train, y_train)
acc = accuracy_score(y_test, medium.predict(X_test))

# %%
# %%carbon "Large RF" --metric accuracy=acc --tag way=cell
large = RandomForestClassifier(n_estimators=200, max_depth=20, n_jobs=-1, random_state=42)
large.fit(X_train, y_train)
acc = accuracy_score(y_test, large.predict(X_test))

# %% [markdown]
# ## Compare
#
# Every run of this session, as the ledger holds it:

# %%
# %carbon table

# %% [markdown]
# One row per model: the mean of its two measurements. `emissions_kg_per_accuracy_point`
# is CodeCarbon's "CO2 per accuracy point" (lower is better);
# `accuracy_per_g_co2` is accuracy per gram of CO2 (higher is better).

# %%
runs = mlcost_magic.current_session().to_frame()
ok = runs[runs["status"] == "ok"]
by_model = ok.groupby("label", sort=False).agg(
    measurements=("run_id", "count"),
    duration_s=("duration_s", "mean"),
    energy_kwh=("energy_kwh", "mean"),
    emissions_kg=("emissions_kg", "mean"),
    accuracy=("accuracy", "mean"),
    emissions_kg_per_accuracy_point=("emissions_kg_per_accuracy_point", "mean"),
    accuracy_per_g_co2=("accuracy_per_g_co2", "mean"),
)
by_model

# %% [markdown]
# ## The most carbon-efficient model
#
# The lowest CO2 per accuracy point wins.

# %%
best = by_model["emissions_kg_per_accuracy_point"].idxmin()
row = by_model.loc[best]
print(
    f"Most carbon-efficient: {best}, accuracy {row['accuracy']:.3f} for "
    f"{format_mass(row['emissions_kg'])} CO2 "
    f"({format_mass(row['emissions_kg_per_accuracy_point'])} per accuracy point)"
)

# %% [markdown]
# ## The four-panel trade-off figure
#
# CO2 per model, accuracy against CO2 (with the Pareto front and the best trade-off
# ringed), run time against CO2, and CO2 per accuracy point. Each model was measured
# twice: the bars show the mean, the error bars the spread, the small dots each run.

# %% tags=["figure"]
# %carbon plot

# %% [markdown]
# ## Try this
#
# * Add an `"XL RF"` with 400 trees and no depth limit to `SIZES` and run the notebook
#   again (Kernel > Restart & Run All). Does it move the most efficient model?
# * Set `n_jobs=1` in the loop: the run takes longer. Does it use more energy, or only
#   more time?

# %% [markdown]
# ## What we learned
#
# Computed from this session's ledger:

# %% tags=["learned"]
costliest = by_model["emissions_kg"].idxmax()
cheapest = by_model["emissions_kg"].idxmin()
factor = by_model.loc[costliest, "emissions_kg"] / by_model.loc[cheapest, "emissions_kg"]
gain = by_model.loc[costliest, "accuracy"] - by_model.loc[cheapest, "accuracy"]
spread = ok.groupby("label")["emissions_kg"].agg(lambda e: (e.max() - e.min()) / e.mean())
Markdown(
    f"- **{costliest}** emitted the most CO2: {factor:.1f} times **{cheapest}**, "
    f"for {gain * 100:+.1f} accuracy points.\n"
    f"- The most carbon-efficient model (lowest CO2 per accuracy point) is **{best}**.\n"
    f"- Measuring the same model twice differed by up to {spread.max():.0%} in CO2: "
    "compare runs measured the same way, and repeat when the difference is small."
)
