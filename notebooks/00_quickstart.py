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
# # Quickstart: what does a notebook cell cost?
#
# Training a model uses electricity, and electricity emits CO2. **mlcost-magic** measures
# both for any notebook cell, with CodeCarbon's data, and keeps every measurement in a
# small ledger so you can compare runs afterwards.
#
# In five minutes you will:
#
# 1. load the extension,
# 2. measure a cell with `%%carbon`,
# 3. measure runs inside a loop with `mlcost_magic.track`,
# 4. compare everything in a table and in the panel.

# %% [markdown]
# ## 1. Load the extension
#
# One line. It measures nothing by itself: only the cells and blocks you mark are
# measured, and each measurement is written to a ledger file (`mlcost_ledger.sqlite` in
# the notebook's folder unless `MLCOST_LEDGER` says otherwise).

# %%
# %load_ext mlcost_magic

# %% [markdown]
# ## 2. Some data
#
# A small synthetic classification problem, so every cell runs in seconds. Preparing
# data is not measured: only the cells you mark are.

# %% tags=["dataset"]
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

import mlcost_magic
from mlcost_magic.tutorials.datasets import make_rf_sizes_data

data = make_rf_sizes_data(n_samples=3_000)
X_train, X_test, y_train, y_test = data
print(data.describe())

# %% [markdown]
# ## 3. Measure a cell with `%%carbon`
#
# Put `%%carbon "a label"` on the first line of a cell. `--metric accuracy=acc` records
# the value of the variable `acc` when the cell ends, so cost and quality sit side by
# side.

# %%
# %%carbon "Logistic regression" --metric accuracy=acc
logreg = LogisticRegression(max_iter=500).fit(X_train, y_train)
acc = accuracy_score(y_test, logreg.predict(X_test))

# %%
# %%carbon "Small RF" --metric accuracy=acc --tag way=cell
forest = RandomForestClassifier(n_estimators=50, max_depth=10, n_jobs=-1, random_state=42)
forest.fit(X_train, y_train)
acc = accuracy_score(y_test, forest.predict(X_test))

# %% [markdown]
# ## 4. Where do we stand?
#
# `%carbon status` says how the numbers are made (method, power per CPU thread, carbon
# intensity and where each figure came from) and where the ledger is; `%carbon table`
# lists this session's runs with their energy, CO2 and metrics.

# %%
# %carbon status

# %%
# %carbon table

# %% [markdown]
# ## 5. Measure inside a loop with `track`
#
# A magic measures a whole cell. To measure each turn of a loop, use
# `mlcost_magic.track` as a context manager and log metrics on the run it gives you.

# %%
for n_trees in (10, 100):
    with mlcost_magic.track(f"RF {n_trees} trees", tags={"n_estimators": n_trees}) as run:
        model = RandomForestClassifier(n_estimators=n_trees, n_jobs=-1, random_state=42)
        model.fit(X_train, y_train)
        run.log_metric("accuracy", accuracy_score(y_test, model.predict(X_test)))

# %% [markdown]
# ## 6. The panel
#
# `%carbon panel` shows the table and four trade-off plots: CO2 per model, accuracy
# against CO2, run time against CO2, and CO2 per accuracy point. It updates itself as new
# runs finish.

# %% tags=["panel"]
# %carbon panel

# %% [markdown]
# ## Try this
#
# * Add a `%%carbon "Big RF" --metric accuracy=acc` cell with `n_estimators=300` and
#   watch the panel update. Is the accuracy gain worth the CO2?
# * Run `%config CarbonMagics.country_iso_code = "FRA"` (or your country's ISO code),
#   then re-run a measured cell: the energy stays, the CO2 follows the electricity mix.

# %% [markdown]
# ## What we learned
#
# Computed from this session's ledger, not written in advance:

# %% tags=["learned"]
from IPython.display import Markdown

from mlcost_magic.units import format_energy, format_mass

runs = mlcost_magic.current_session().to_frame()
ok = runs[runs["status"] == "ok"]
costliest = ok.loc[ok["emissions_kg"].idxmax()]
cheapest = ok.loc[ok["emissions_kg"].idxmin()]
Markdown(
    f"- This session measured **{len(ok)} runs**, {format_energy(ok['energy_kwh'].sum())} "
    f"and {format_mass(ok['emissions_kg'].sum())} CO2 in all.\n"
    f"- Costliest: **{costliest['label']}** ({format_mass(costliest['emissions_kg'])}, "
    f"accuracy {costliest['accuracy']:.3f}).\n"
    f"- Cheapest: **{cheapest['label']}** ({format_mass(cheapest['emissions_kg'])}, "
    f"accuracy {cheapest['accuracy']:.3f})."
)
