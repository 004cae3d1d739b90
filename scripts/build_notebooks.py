"""Write the tutorial notebooks in notebooks/ from the cell sources below (no outputs).

The notebooks are generated so that they stay reviewable as plain Python: edit this file, run
``python scripts/build_notebooks.py``, commit both. ``--check`` exits 1 when a notebook on disk
differs from what this script would write (for CI).

Cell tags used by tests/test_notebooks.py: ``figure`` (a cell that must leave an image),
``panel`` (a cell that must leave a widget), ``learned`` (the closing summary computed from the
ledger), ``dataset`` (prints which data set was used), ``train`` (prints accuracy and size).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def md(text: str) -> tuple[str, str, tuple[str, ...]]:
    return ("markdown", dedent(text).strip("\n"), ())


def code(text: str, *tags: str) -> tuple[str, str, tuple[str, ...]]:
    return ("code", dedent(text).strip("\n"), tags)


# --------------------------------------------------------------------------------------------
# 00 Quickstart
# --------------------------------------------------------------------------------------------

QUICKSTART = [
    md(
        """
        # Quickstart: what does a notebook cell cost?

        Training a model uses electricity, and electricity emits CO2. **mlcost-magic** measures
        both for any notebook cell, with CodeCarbon's data, and keeps every measurement in a
        small ledger so you can compare runs afterwards.

        In five minutes you will:

        1. load the extension,
        2. measure a cell with `%%carbon`,
        3. measure runs inside a loop with `mlcost_magic.track`,
        4. compare everything in a table and in the panel.
        """
    ),
    md(
        """
        ## 1. Load the extension

        One line. It measures nothing by itself: only the cells and blocks you mark are
        measured, and each measurement is written to a ledger file (`mlcost_ledger.sqlite` in
        the notebook's folder unless `MLCOST_LEDGER` says otherwise).
        """
    ),
    code(
        """
        %load_ext mlcost_magic
        """
    ),
    md(
        """
        ## 2. Some data

        A small synthetic classification problem, so every cell runs in seconds. Preparing
        data is not measured: only the cells you mark are.
        """
    ),
    code(
        """
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression  # noqa: F401 (used by %%carbon below)
        from sklearn.metrics import accuracy_score

        import mlcost_magic
        from mlcost_magic.datasets import make_rf_sizes_data

        data = make_rf_sizes_data(n_samples=3_000)
        X_train, X_test, y_train, y_test = data
        print(data.describe())
        """,
        "dataset",
    ),
    md(
        """
        ## 3. Measure a cell with `%%carbon`

        Put `%%carbon "a label"` on the first line of a cell. `--metric accuracy=acc` records
        the value of the variable `acc` when the cell ends, so cost and quality sit side by
        side.
        """
    ),
    code(
        """
        %%carbon "Logistic regression" --metric accuracy=acc
        logreg = LogisticRegression(max_iter=500).fit(X_train, y_train)
        acc = accuracy_score(y_test, logreg.predict(X_test))
        """
    ),
    code(
        """
        %%carbon "Small RF" --metric accuracy=acc --tag way=cell
        forest = RandomForestClassifier(n_estimators=50, max_depth=10, n_jobs=-1, random_state=42)
        forest.fit(X_train, y_train)
        acc = accuracy_score(y_test, forest.predict(X_test))
        """
    ),
    md(
        """
        ## 4. Where do we stand?

        `%carbon status` says how the numbers are made (method, power per CPU thread, carbon
        intensity and where each figure came from) and where the ledger is; `%carbon table`
        lists this session's runs with their energy, CO2 and metrics.
        """
    ),
    code(
        """
        %carbon status
        """
    ),
    code(
        """
        %carbon table
        """
    ),
    md(
        """
        ## 5. Measure inside a loop with `track`

        A magic measures a whole cell. To measure each turn of a loop, use
        `mlcost_magic.track` as a context manager and log metrics on the run it gives you.
        """
    ),
    code(
        """
        for n_trees in (10, 100):
            with mlcost_magic.track(f"RF {n_trees} trees", tags={"n_estimators": n_trees}) as run:
                model = RandomForestClassifier(n_estimators=n_trees, n_jobs=-1, random_state=42)
                model.fit(X_train, y_train)
                run.log_metric("accuracy", accuracy_score(y_test, model.predict(X_test)))
        """
    ),
    md(
        """
        ## 6. The panel

        `%carbon panel` shows the table and four trade-off plots: CO2 per model, accuracy
        against CO2, run time against CO2, and CO2 per accuracy point. It updates itself as new
        runs finish.
        """
    ),
    code(
        """
        %carbon panel
        """,
        "panel",
    ),
    md(
        """
        ## Try this

        * Add a `%%carbon "Big RF" --metric accuracy=acc` cell with `n_estimators=300` and
          watch the panel update. Is the accuracy gain worth the CO2?
        * Run `%config CarbonMagics.country_iso_code = "FRA"` (or your country's ISO code),
          then re-run a measured cell: the energy stays, the CO2 follows the electricity mix.
        """
    ),
    md(
        """
        ## What we learned

        Computed from this session's ledger, not written in advance:
        """
    ),
    code(
        """
        from IPython.display import Markdown

        from mlcost_magic.units import format_energy, format_mass

        runs = mlcost_magic.current_session().to_frame()
        ok = runs[runs["status"] == "ok"]
        costliest = ok.loc[ok["emissions_kg"].idxmax()]
        cheapest = ok.loc[ok["emissions_kg"].idxmin()]
        Markdown(
            f"- This session measured **{len(ok)} runs**, {format_energy(ok['energy_kwh'].sum())} "
            f"and {format_mass(ok['emissions_kg'].sum())} CO2 in all.\\n"
            f"- Costliest: **{costliest['label']}** ({format_mass(costliest['emissions_kg'])}, "
            f"accuracy {costliest['accuracy']:.3f}).\\n"
            f"- Cheapest: **{cheapest['label']}** ({format_mass(cheapest['emissions_kg'])}, "
            f"accuracy {cheapest['accuracy']:.3f})."
        )
        """,
        "learned",
    ),
]

# --------------------------------------------------------------------------------------------
# 01 Random Forest sizes
# --------------------------------------------------------------------------------------------

RF_SIZES = [
    md(
        """
        # How much does a bigger Random Forest cost?

        CodeCarbon's model-comparison tutorial trains a small, a medium and a large Random
        Forest and asks which one gives the most accuracy per gram of CO2. Here we do the same
        with mlcost-magic, twice: once as a loop with `mlcost_magic.track`, once with one
        `%%carbon` cell per model. Measuring the same thing twice also shows how much a
        measurement varies.
        """
    ),
    md(
        """
        ## Setup

        Load the extension and the tools. The data is CodeCarbon's: 10,000 samples, 20
        features (15 informative), 3 classes, 80/20 split.
        """
    ),
    code(
        """
        %load_ext mlcost_magic
        """
    ),
    code(
        """
        from IPython.display import Markdown
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.metrics import accuracy_score

        import mlcost_magic
        from mlcost_magic.datasets import make_rf_sizes_data
        from mlcost_magic.units import format_mass

        data = make_rf_sizes_data(n_samples=10_000)
        X_train, X_test, y_train, y_test = data
        print(data.describe())
        """,
        "dataset",
    ),
    md(
        """
        ## Three sizes

        More trees and deeper trees: more work, and maybe more accuracy.
        """
    ),
    code(
        """
        SIZES = {
            "Small RF": {"n_estimators": 50, "max_depth": 10},
            "Medium RF": {"n_estimators": 100, "max_depth": 15},
            "Large RF": {"n_estimators": 200, "max_depth": 20},
        }
        """
    ),
    md(
        """
        ## Way 1: a loop with `track`

        Each turn of the loop is one run in the ledger. `tags` keep the settings with it.
        """
    ),
    code(
        """
        for label, params in SIZES.items():
            with mlcost_magic.track(label, tags={"way": "loop", **params}) as run:
                model = RandomForestClassifier(**params, n_jobs=-1, random_state=42)
                model.fit(X_train, y_train)
                acc = accuracy_score(y_test, model.predict(X_test))
                run.log_metric("accuracy", acc)
            print(f"{label}: accuracy {acc:.3f}")
        """
    ),
    md(
        """
        ## Way 2: one `%%carbon` cell per model

        The same three models, one cell each, with the same labels (and a `way=cell` tag): the
        ledger then holds two measurements of each model.
        """
    ),
    code(
        """
        %%carbon "Small RF" --metric accuracy=acc --tag way=cell
        small = RandomForestClassifier(n_estimators=50, max_depth=10, n_jobs=-1, random_state=42)
        small.fit(X_train, y_train)
        acc = accuracy_score(y_test, small.predict(X_test))
        """
    ),
    code(
        """
        %%carbon "Medium RF" --metric accuracy=acc --tag way=cell
        medium = RandomForestClassifier(n_estimators=100, max_depth=15, n_jobs=-1, random_state=42)
        medium.fit(X_train, y_train)
        acc = accuracy_score(y_test, medium.predict(X_test))
        """
    ),
    code(
        """
        %%carbon "Large RF" --metric accuracy=acc --tag way=cell
        large = RandomForestClassifier(n_estimators=200, max_depth=20, n_jobs=-1, random_state=42)
        large.fit(X_train, y_train)
        acc = accuracy_score(y_test, large.predict(X_test))
        """
    ),
    md(
        """
        ## Compare

        Every run of this session, as the ledger holds it:
        """
    ),
    code(
        """
        %carbon table
        """
    ),
    md(
        """
        One row per model: the mean of its two measurements. `emissions_kg_per_metric_point`
        is CodeCarbon's "CO2 per accuracy point" (lower is better);
        `metric_points_per_g_co2` is accuracy per gram of CO2 (higher is better).
        """
    ),
    code(
        """
        runs = mlcost_magic.current_session().to_frame()
        ok = runs[runs["status"] == "ok"]
        by_model = ok.groupby("label", sort=False).agg(
            measurements=("run_id", "count"),
            duration_s=("duration_s", "mean"),
            energy_kwh=("energy_kwh", "mean"),
            emissions_kg=("emissions_kg", "mean"),
            accuracy=("accuracy", "mean"),
            emissions_kg_per_metric_point=("emissions_kg_per_metric_point", "mean"),
            metric_points_per_g_co2=("metric_points_per_g_co2", "mean"),
        )
        by_model
        """
    ),
    md(
        """
        ## The most carbon-efficient model

        The lowest CO2 per accuracy point wins.
        """
    ),
    code(
        """
        best = by_model["emissions_kg_per_metric_point"].idxmin()
        row = by_model.loc[best]
        print(
            f"Most carbon-efficient: {best}, accuracy {row['accuracy']:.3f} for "
            f"{format_mass(row['emissions_kg'])} CO2 "
            f"({format_mass(row['emissions_kg_per_metric_point'])} per accuracy point)"
        )
        """
    ),
    md(
        """
        ## The four-panel trade-off figure

        CO2 per model, accuracy against CO2 (with the Pareto front and the best trade-off
        ringed), run time against CO2, and CO2 per accuracy point. Each model was measured
        twice: the bars show the mean, the error bars the spread, the small dots each run.
        """
    ),
    code(
        """
        %carbon plot
        """,
        "figure",
    ),
    md(
        """
        ## Try this

        * Add an `"XL RF"` with 400 trees and no depth limit to `SIZES` and run the notebook
          again (Kernel > Restart & Run All). Does it move the most efficient model?
        * Set `n_jobs=1` in the loop: the run takes longer. Does it use more energy, or only
          more time?
        """
    ),
    md(
        """
        ## What we learned

        Computed from this session's ledger:
        """
    ),
    code(
        """
        costliest = by_model["emissions_kg"].idxmax()
        cheapest = by_model["emissions_kg"].idxmin()
        factor = by_model.loc[costliest, "emissions_kg"] / by_model.loc[cheapest, "emissions_kg"]
        gain = by_model.loc[costliest, "accuracy"] - by_model.loc[cheapest, "accuracy"]
        spread = ok.groupby("label")["emissions_kg"].agg(lambda e: (e.max() - e.min()) / e.mean())
        Markdown(
            f"- **{costliest}** emitted the most CO2: {factor:.1f} times **{cheapest}**, "
            f"for {gain * 100:+.1f} accuracy points.\\n"
            f"- The most carbon-efficient model (lowest CO2 per accuracy point) is **{best}**.\\n"
            f"- Measuring the same model twice differed by up to {spread.max():.0%} in CO2: "
            "compare runs measured the same way, and repeat when the difference is small."
        )
        """,
        "learned",
    ),
]

# --------------------------------------------------------------------------------------------
# 02 Random Forest vs MLP vs KNN
# --------------------------------------------------------------------------------------------

RF_MLP_KNN = [
    md(
        """
        # Random Forest, MLP or KNN: accuracy against energy

        The MLCost final-year project compared three classic algorithms, a Random Forest, a
        small neural network (MLP) and k-nearest neighbours (KNN), on an easy data set and a
        harder one, and asked which gives the best accuracy for the energy it uses. This
        notebook repeats that study on your machine.
        """
    ),
    md(
        """
        ## The data

        *Iris* is the easy one (150 flowers, 4 measurements). The harder one is *EEG Eye
        State* (14,980 EEG recordings, eyes open or closed) from OpenML. mlcost-magic never
        goes online by default: set `MLCOST_ALLOW_DOWNLOAD=1` to download it, or
        `MLCOST_EEG_CSV=/path/to/eeg.csv` to use a local copy. Without either, the notebook
        uses scikit-learn's bundled *digits* (1,797 handwritten digits) and says so below.
        """
    ),
    code(
        """
        %load_ext mlcost_magic
        """
    ),
    code(
        """
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
        from mlcost_magic.datasets import load_harder_dataset, load_iris_split
        from mlcost_magic.units import format_energy

        # The MLP is kept short on purpose so the notebook runs in seconds.
        warnings.filterwarnings("ignore", category=ConvergenceWarning)

        iris = load_iris_split()
        harder = load_harder_dataset()
        for data in (iris, harder):
            print(data.describe())
        """,
        "dataset",
    ),
    md(
        """
        ## The three algorithms

        The MLP and KNN depend on the scale of the features, so they get a `StandardScaler`
        first. A fresh set of models for each data set:
        """
    ),
    code(
        """
        def make_models():
            forest = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=42)
            mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=200, random_state=42)
            knn = KNeighborsClassifier(n_neighbors=5)
            return {
                "Random Forest": forest,
                "MLP": make_pipeline(StandardScaler(), mlp),
                "KNN": make_pipeline(StandardScaler(), knn),
            }
        """
    ),
    md(
        """
        ## Train and test each one, measured

        Each run covers training and scoring the test set: KNN does almost nothing when it
        trains and all its work when it predicts, so measuring only `fit` would flatter it.
        """
    ),
    code(
        """
        for data in (iris, harder):
            for algorithm, model in make_models().items():
                tags = {"algorithm": algorithm, "dataset": data.name}
                with mlcost_magic.track(f"{algorithm} / {data.name}", tags=tags) as run:
                    model.fit(data.X_train, data.y_train)
                    acc = accuracy_score(data.y_test, model.predict(data.X_test))
                    run.log_metric("accuracy", acc)
                print(f"{algorithm:>13} on {data.name}: accuracy {acc:.3f}")
        """
    ),
    md(
        """
        ## Side by side

        Energy in milliwatt-hours (mWh) and accuracy, per algorithm and data set.
        """
    ),
    code(
        """
        runs = mlcost_magic.current_session().to_frame()
        ok = runs[runs["status"] == "ok"].copy()
        ok["algorithm"] = ok["tags"].map(lambda tags: tags["algorithm"])
        ok["dataset"] = ok["tags"].map(lambda tags: tags["dataset"])
        ok["energy_mwh"] = ok["energy_kwh"] * 1e6
        side_by_side = ok.pivot_table(
            index="algorithm", columns="dataset", values=["energy_mwh", "accuracy"]
        )
        side_by_side.round(3)
        """
    ),
    md(
        """
        ## The panel

        The table and the four trade-off plots for all six runs.
        """
    ),
    code(
        """
        %carbon panel
        """,
        "panel",
    ),
    md(
        """
        ## Try this

        * Give the MLP two hidden layers, `hidden_layer_sizes=(128, 64)`, and run again.
          How much energy does the extra accuracy (if any) cost?
        * With a network connection, run `MLCOST_ALLOW_DOWNLOAD=1 jupyter lab` and repeat the
          study on the real EEG Eye State data.
        """
    ),
    md(
        """
        ## What we measured

        Computed from this session's ledger:
        """
    ),
    code(
        """
        lines = []
        for dataset, group in ok.groupby("dataset", sort=False):
            most = group.loc[group["energy_kwh"].idxmax()]
            least = group.loc[group["energy_kwh"].idxmin()]
            lines.append(
                f"- On **{dataset}**, **{most['algorithm']}** cost the most energy "
                f"({format_energy(most['energy_kwh'])}, accuracy {most['accuracy']:.3f}) and "
                f"**{least['algorithm']}** the least ({format_energy(least['energy_kwh'])}, "
                f"accuracy {least['accuracy']:.3f})."
            )
        if harder.is_fallback:
            lines.append(f"- The harder data set was **{harder.name}**: {harder.note}")
        Markdown("\\n".join(lines))
        """,
        "learned",
    ),
]

# --------------------------------------------------------------------------------------------
# 03 Inference cost and model size
# --------------------------------------------------------------------------------------------

INFERENCE = [
    md(
        """
        # Inference cost and model size

        Training happens once; a deployed model predicts again and again. The
        mlflow-emissions-sdk benchmark measured both, and found that a model cheap to train can
        be costly to use. Here: three scikit-learn models, their training CO2, accuracy per
        gram of CO2, CO2 per 1,000 predictions, and how all of it relates to model size.
        """
    ),
    md(
        """
        ## Setup

        The data is the 3-class synthetic problem from notebook 01. To measure inference, each
        model predicts a batch of 20,000 rows (the test set, repeated).
        """
    ),
    code(
        """
        %load_ext mlcost_magic
        """
    ),
    code(
        """
        import warnings

        import matplotlib.pyplot as plt
        import numpy as np
        import seaborn as sns
        from IPython.display import Markdown
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.metrics import accuracy_score
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        import mlcost_magic
        from mlcost_magic.datasets import make_rf_sizes_data, model_size
        from mlcost_magic.units import format_mass

        warnings.filterwarnings("ignore", category=ConvergenceWarning)

        data = make_rf_sizes_data(n_samples=10_000)
        X_train, X_test, y_train, y_test = data
        X_batch = np.tile(X_test, (10, 1))
        print(data.describe())
        print(f"Inference batch: {len(X_batch):,} rows")
        """,
        "dataset",
    ),
    md(
        """
        ## Train the three models, measured

        `model_size` counts what each model stores: tree nodes for the forest, weights and
        biases for the MLP, and the whole training set for KNN.
        """
    ),
    code(
        """
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
        sizes = {}
        for name, model in models.items():
            with mlcost_magic.track(name, tags={"model": name}) as run:
                model.fit(X_train, y_train)
                acc = accuracy_score(y_test, model.predict(X_test))
                run.log_metric("accuracy", acc)
            sizes[name] = model_size(model)
            print(f"{name:>13}: accuracy {acc:.3f}, size {sizes[name]:,}")
        """,
        "train",
    ),
    md(
        """
        ## Measure inference with `track_inference`

        `track_inference(model, X)` runs `model.predict(X)` as an *inference* run and records
        how many predictions it made, so the ledger can give CO2 per 1,000 predictions.
        """
    ),
    code(
        """
        for name, model in models.items():
            run = mlcost_magic.track_inference(model, X_batch, label=name)
            print(f"{name:>13}: {len(run.result):,} predictions")
        """
    ),
    md(
        """
        ## Training and inference side by side

        `metric_points_per_g_co2` is accuracy per gram of training CO2 (higher is better);
        `emissions_kg_per_1k_inferences` is the CO2 of 1,000 predictions.
        """
    ),
    code(
        """
        runs = mlcost_magic.current_session().to_frame()
        ok = runs[runs["status"] == "ok"]
        training = ok[ok["kind"] == "training"].set_index("label")
        inference = ok[ok["kind"] == "inference"].set_index("label")
        summary = training[["emissions_kg", "accuracy", "metric_points_per_g_co2"]].rename(
            columns={"emissions_kg": "training_emissions_kg"}
        )
        summary["emissions_kg_per_1k_inferences"] = inference["emissions_kg_per_1k_inferences"]
        summary["model_size"] = summary.index.map(sizes)
        summary
        """
    ),
    md(
        """
        ## Accuracy against training CO2, sized by model size

        Each bubble is a model; its area is the model's size.
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
        bubbles = summary.reset_index()
        bubbles["training_co2_mg"] = bubbles["training_emissions_kg"] * 1e6
        sns.scatterplot(
            data=bubbles,
            x="training_co2_mg",
            y="accuracy",
            size="model_size",
            hue="label",
            sizes=(150, 3000),
            alpha=0.45,
            legend=False,
            ax=ax,
        )
        for _, point in bubbles.iterrows():
            text = f"{point['label']}\\n{point['model_size']:,} numbers"
            xy = (point["training_co2_mg"], point["accuracy"])
            ax.annotate(text, xy, ha="center", va="center", fontsize=9)
        ax.margins(x=0.3, y=0.3)
        ax.set(
            xlabel="training CO2 (mg)",
            ylabel="test accuracy",
            title="Accuracy vs training CO2 (bubble area grows with model size)",
        )
        plt.show()
        """,
        "figure",
    ),
    md(
        """
        ## Try this

        * Make the forest bigger (`n_estimators=300`): how do its size, training CO2 and CO2
          per 1,000 predictions move?
        * Give KNN `algorithm="brute"` and compare its inference cost again.
        """
    ),
    md(
        """
        ## What we learned

        Computed from this session's ledger:
        """
    ),
    code(
        """
        cheapest_training = summary["training_emissions_kg"].idxmin()
        costliest_training = summary["training_emissions_kg"].idxmax()
        cheapest_inference = summary["emissions_kg_per_1k_inferences"].idxmin()
        costliest_inference = summary["emissions_kg_per_1k_inferences"].idxmax()
        most_efficient = summary["metric_points_per_g_co2"].idxmax()
        largest = summary["model_size"].idxmax()
        per_1k = summary["emissions_kg_per_1k_inferences"]
        Markdown(
            f"- Cheapest to train: **{cheapest_training}**; costliest: **{costliest_training}**.\\n"
            f"- Cheapest per 1,000 predictions: **{cheapest_inference}** "
            f"({format_mass(per_1k[cheapest_inference])}); costliest: "
            f"**{costliest_inference}** ({format_mass(per_1k[costliest_inference])}).\\n"
            f"- Most accuracy per gram of training CO2: **{most_efficient}**.\\n"
            f"- Largest model: **{largest}** ({summary.loc[largest, 'model_size']:,} stored "
            "numbers)."
        )
        """,
        "learned",
    ),
]

NOTEBOOKS = {
    "00_quickstart.ipynb": QUICKSTART,
    "01_random_forest_sizes.ipynb": RF_SIZES,
    "02_rf_mlp_knn.ipynb": RF_MLP_KNN,
    "03_inference_cost.ipynb": INFERENCE,
}


def build(name: str, cells) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    stem = name.split("_", 1)[0]
    for index, (kind, source, tags) in enumerate(cells):
        cell_id = f"nb{stem}-{index:02d}"
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source, id=cell_id)
        else:
            cell = nbformat.v4.new_code_cell(source, id=cell_id)
        if tags:
            cell.metadata["tags"] = list(tags)
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if notebooks are stale")
    parser.add_argument("--output", type=Path, default=NOTEBOOK_DIR, help="target folder")
    args = parser.parse_args(argv)
    stale = []
    args.output.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        text = render(build(name, cells))
        path = args.output / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("stale notebooks (run scripts/build_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
