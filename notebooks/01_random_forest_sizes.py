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
# ## One thread or all: when does parallelism save energy?
#
# The MLCost study found that bigger machines draw more power per second but finish
# sooner. Whether finishing sooner saves energy depends on what the machine draws while
# it works at all: its *static* (idle) power, paid for every second of wall time. Here we
# train the same forest on one CPU thread (`%%carbon --threads 1`: scikit-learn's
# `n_jobs=-1` workers follow it) and on all of them, first as mlcost-magic measures by
# default (no static power), then with 20 W of static power charged for each second
# (`%config CarbonMagics.static_power_w = 20`; `%carbon baseline` measures yours where
# RAPL is readable).

# %%
HARDWARE_RF = {"n_estimators": 80, "max_depth": 12, "n_jobs": -1, "random_state": 0}

# %%
# %%carbon "RF, 1 thread" --threads 1
hw_model = RandomForestClassifier(**HARDWARE_RF).fit(X_train, y_train)
# %%
# %%carbon "RF, all threads"
hw_model = RandomForestClassifier(**HARDWARE_RF).fit(X_train, y_train)
# %%
# %config CarbonMagics.static_power_w = 20

# %%
# %%carbon "RF, 1 thread, 20 W static" --threads 1
hw_model = RandomForestClassifier(**HARDWARE_RF).fit(X_train, y_train)
# %%
# %%carbon "RF, all threads, 20 W static"
hw_model = RandomForestClassifier(**HARDWARE_RF).fit(X_train, y_train)
# %%
# %config CarbonMagics.static_power_w = 0

# %% [markdown]
# The four runs from the ledger: wall time, CPU-seconds (busy time summed over threads),
# energy, and mean power (energy / time).

# %% tags=["hardware"]
import os

import pandas as pd

all_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
hw_runs = mlcost_magic.current_session().read_runs()
hw_runs = hw_runs[hw_runs["label"].str.startswith("RF, ")].set_index("label")
hardware = pd.DataFrame(
    {
        "threads": hw_runs["threads"].fillna(all_threads).astype(int),
        "static_power_w": hw_runs["static_power_w"],
        "time_s": hw_runs["duration_s"],
        "cpu_seconds": hw_runs["cpu_seconds"],
        "energy_mwh": hw_runs["energy_kwh"] * 1e6,
        "static_mwh": hw_runs["static_energy_kwh"] * 1e6,
        "mean_power_w": hw_runs["energy_kwh"] * 3.6e6 / hw_runs["duration_s"],
    }
)
hardware.round(3)


# %% tags=["hardware-learned"]
def pair(static_w: float) -> str:
    """One line on 1 thread vs all threads at one static power, from the measured runs."""
    runs = hardware[hardware["static_power_w"] == static_w]
    one, many = runs[runs["threads"] == 1].iloc[0], runs[runs["threads"] > 1].iloc[0]
    ratio = many["energy_mwh"] / one["energy_mwh"]
    if ratio < 0.95:
        energy = f"**{1 - ratio:.0%} less energy**"
    elif ratio > 1.05:
        energy = f"**{ratio - 1:.0%} more energy**"
    else:
        energy = "**about the same energy** (within 5 %)"
    return (
        f"- {'No static power' if static_w == 0 else f'{static_w:g} W static'}: all "
        f"{int(many['threads'])} threads took {many['time_s']:.2f} s against "
        f"{one['time_s']:.2f} s on one ({one['time_s'] / many['time_s']:.2f}x sooner), "
        f"drew {many['mean_power_w']:.1f} W against {one['mean_power_w']:.1f} W, and used "
        f"{energy}: {many['energy_mwh']:.2f} against {one['energy_mwh']:.2f} mWh."
    )


static = hardware[hardware["static_power_w"] > 0]
share = static["static_mwh"] / static["energy_mwh"]
method = ", ".join(hw_runs["method"].unique())
Markdown(
    "\n".join([pair(0.0), pair(20.0)])
    + f"\n- With 20 W static, static power was {share[static['threads'] == 1].iloc[0]:.0%} "
    f"of the 1-thread run's energy and {share[static['threads'] > 1].iloc[0]:.0%} of the "
    "all-threads run's."
    + f"\n\nMeasured by: {method}. The busy threads' energy follows the CPU-seconds, "
    "which the same work needs however many threads share it; static power follows the wall "
    "time, which more threads cut. So parallelism saves energy when static power is a large "
    "part of the draw, and otherwise mostly saves time."
)

# %% [markdown]
# ## Try this
#
# * Add an `"XL RF"` with 400 trees and no depth limit to `SIZES` and run the notebook
#   again (Kernel > Restart & Run All). Does it move the most efficient model?
# * Set the static power to your machine's idle draw (`%carbon baseline`, or its data
#   sheet) in the thread section: from how many watts on do all threads save energy?

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
