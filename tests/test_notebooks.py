"""The tutorial notebooks, executed in a real kernel, checked against the ledger they wrote.

Each notebook runs once per test session (module-scoped cache) with ``MLCOST_LEDGER`` pointing
at a temporary file; every assertion reads that ledger, so no measured figure is hard-coded.
A second pass runs them all through the main job (``notebook_runner``) with the kernel's network
cut off, with downloads allowed, to prove no cell hangs or fails offline.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from mlcost_magic.compare.comparison import compare
from mlcost_magic.store.ledger import DEFAULT_LEDGER_NAME, Ledger
from mlcost_magic.tutorials import runner as notebook_runner

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = [
    "00_quickstart.ipynb",
    "01_random_forest_sizes.ipynb",
    "02_rf_mlp_knn.ipynb",
    "03_inference_cost.ipynb",
    "04_workshop.ipynb",
]
MAX_NOTEBOOK_S = 90  # the budget per notebook on the 2-core machine
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ISOLATED_VARIABLES = ("MLCOST_ALLOW_DOWNLOAD", "MLCOST_EEG_CSV", "MLCOST_LEDGER")
NOTEBOOK_PAIRING = "ipynb,py:percent"  # notebooks/NN_name.ipynb with its jupytext NN_name.py

# IPython startup file for the offline pass: refuse every non-loopback connection and name
# lookup, and log each attempt so the test can prove the block was in force.
NO_NETWORK_STARTUP = """
import os, socket

_LOG = os.environ["MLCOST_TEST_NETWORK_LOG"]
_LOCAL = ("127.", "::1", "localhost")


def _refuse(what, target):
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(f"{what} {target}\\n")
    raise OSError(f"network disabled by the test: {what} {target}")


def _is_local(host):
    return not isinstance(host, str) or host.startswith(_LOCAL) or host == ""


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _connect(self, address):
    if isinstance(address, tuple) and not _is_local(address[0]):
        _refuse("connect", address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    if isinstance(address, tuple) and not _is_local(address[0]):
        _refuse("connect_ex", address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if not _is_local(host):
        raise socket.gaierror(_refuse("getaddrinfo", host))
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
socket.getaddrinfo = _getaddrinfo
with open(_LOG, "a", encoding="utf-8") as log:
    log.write("installed\\n")
"""


def kernel_env(
    tmp: Path,
    isolated: tuple[str, ...] = ISOLATED_VARIABLES,
    ledger_name: str = "ledger.sqlite",
    **extra: str,
) -> dict[str, str]:
    """This process's environment, isolated: own IPython profile, ledger, no opt-ins."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in isolated}
    env["IPYTHONDIR"] = str(tmp / "ipython")
    env["MLCOST_LEDGER"] = str(tmp / ledger_name)
    env.update(extra)
    return env


class Execution:
    """One notebook executed once: the notebook as it came back, its ledger, its wall time."""

    def __init__(self, name: str, workdir: Path):
        workdir.mkdir(parents=True)
        self.name = name
        self.env = kernel_env(workdir)
        self.notebook, self.wall_s, self.error = notebook_runner.execute_notebook(
            NOTEBOOK_DIR / name, workdir=workdir, env=self.env, cell_timeout_s=300
        )
        nbformat.write(self.notebook, workdir / name)  # kept for inspection on failure
        ledger = Ledger(self.env["MLCOST_LEDGER"])
        try:
            self.runs = compare(ledger.read_runs()).frame
        finally:
            ledger.close()

    def cells(self, tag: str) -> list:
        found = [c for c in self.notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
        assert found, f"{self.name}: no cell tagged {tag!r}"
        return found

    def text(self, tag: str) -> str:
        """Everything the tagged cells showed, as text (markdown preferred)."""
        parts = []
        for cell in self.cells(tag):
            for output in cell.outputs:
                if output.output_type == "stream":
                    parts.append(output.text)
                elif "data" in output:
                    data = output.data
                    parts.append(data.get("text/markdown") or data.get("text/plain", ""))
        return "\n".join(parts)

    def text_of(self, snippet: str) -> str:
        """The printed text of the code cells whose source contains ``snippet``."""
        return "".join(
            output.get("text", "")
            for cell in self.notebook.cells
            if cell.cell_type == "code" and snippet in cell.source
            for output in cell.outputs
        )

    def output_types(self, tag: str) -> set[str]:
        return {
            kind
            for cell in self.cells(tag)
            for output in cell.outputs
            for kind in output.get("data", {})
        }

    def ok_runs(self, label: str | None = None) -> pd.DataFrame:
        runs = self.runs[self.runs["status"] == "ok"]
        return runs if label is None else runs[runs["label"] == label]


@pytest.fixture(scope="module")
def execute(tmp_path_factory):
    cache: dict[str, Execution] = {}

    def run(name: str) -> Execution:
        if name not in cache:
            cache[name] = Execution(name, tmp_path_factory.mktemp("nb") / Path(name).stem)
        return cache[name]

    return run


def assert_completed(execution: Execution) -> None:
    assert execution.error is None, f"{execution.name} failed:\n{execution.error}"
    errors = [
        output
        for cell in execution.notebook.cells
        if "raises-exception" not in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert errors == []
    assert execution.wall_s < MAX_NOTEBOOK_S, f"{execution.name} took {execution.wall_s:.0f} s"
    assert len(execution.runs) > 0
    assert set(execution.runs["status"]) == {"ok"}, execution.runs[["label", "status", "error"]]
    assert execution.runs["session_id"].nunique() == 1, "one kernel, one session"
    for column in ("energy_kwh", "emissions_kg", "duration_s"):
        assert (execution.runs[column] > 0).all(), column


def bold(text: str, before: str) -> str:
    """The bold name right before ``before`` in a learned cell: '**Large RF** emitted'."""
    match = re.search(r"\*\*([^*]+)\*\*" + re.escape(before), text)
    assert match, f"no '**name**{before}' in:\n{text}"
    return match.group(1)


def assert_panel(execution: Execution) -> None:
    """The panel left a widget view, and its saved table lists every run's label."""
    assert WIDGET_VIEW in execution.output_types("panel")
    state = execution.notebook.metadata["widgets"][WIDGET_STATE]["state"]
    tables = [
        model["state"]["value"]
        for model in state.values()
        if "mlcost-table" in model["state"].get("_dom_classes", [])
    ]
    assert tables, "no saved panel table in the widget state"
    for label in execution.runs["label"].unique():
        assert any(label in table for table in tables), label


# -- the notebooks in the repository ---------------------------------------------------------


def notebook_source_disagreements(folder: Path) -> dict[str, list[str]]:
    """What is wrong with each notebook of ``folder`` and its jupytext source, by file stem.

    Each ``NN_name.ipynb`` has a percent-format ``NN_name.py`` and vice versa, both carry the
    pairing metadata, the source reads back to the same cells (type, source, tags) and the
    notebook is committed without outputs. Empty when everything agrees. Only those fields are
    compared: cell ids, ``lines_to_next_cell`` and the ``jupytext_version`` in the .py header
    are jupytext's bookkeeping and may differ between jupytext versions.
    """
    problems: dict[str, list[str]] = {}
    stems = sorted({p.stem for p in folder.glob("*.ipynb")} | {p.stem for p in folder.glob("*.py")})
    for stem in stems:
        found = problems.setdefault(stem, [])
        ipynb, source = folder / f"{stem}.ipynb", folder / f"{stem}.py"
        if not (ipynb.exists() and source.exists()):
            found.append(f"no {source.name if ipynb.exists() else ipynb.name} to pair with")
            continue
        notebook = nbformat.read(ipynb, as_version=4)
        nbformat.validate(notebook)
        text = jupytext.read(source, fmt="py:percent")
        for name, nb in ((ipynb.name, notebook), (source.name, text)):
            if nb.metadata.get("jupytext", {}).get("formats") != NOTEBOOK_PAIRING:
                found.append(f"{name}: no jupytext formats {NOTEBOOK_PAIRING!r} in its metadata")
        cells = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in notebook.cells]
        from_source = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in text.cells]
        if len(cells) != len(from_source):
            found.append(f"{len(cells)} cells in {ipynb.name}, {len(from_source)} in {source.name}")
        for index, (cell, expected) in enumerate(zip(cells, from_source, strict=False)):
            if cell != expected:
                cell_id = notebook.cells[index].get("id")
                found.append(f"cell {index} ({cell_id}) differs from {source.name}")
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
                found.append(f"cell {index} ({cell.get('id')}) has outputs or an execution count")
        if "widgets" in notebook.metadata:
            found.append("saved widget state in the notebook metadata")
    return {stem: found for stem, found in problems.items() if found}


def test_repository_notebooks_agree_with_their_sources_and_have_no_outputs():
    disagreements = notebook_source_disagreements(NOTEBOOK_DIR)
    assert disagreements == {}, "edit notebooks/*.py, then run bash scripts/sync_notebooks.sh"
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == NOTEBOOKS
    for name in NOTEBOOKS:
        notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        headings = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        assert any(h.startswith("## Try this") for h in headings), name
        assert any(h.startswith("## What we") for h in headings), name
        ids = [cell.id for cell in notebook.cells]
        assert len(set(ids)) == len(ids), f"{name}: cell ids are unique"


def test_the_source_check_reports_a_notebook_that_disagrees(tmp_path):
    for path in [*NOTEBOOK_DIR.glob("*.ipynb"), *NOTEBOOK_DIR.glob("*.py")]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert notebook_source_disagreements(tmp_path) == {}
    edited = tmp_path / "01_random_forest_sizes.py"
    text = edited.read_text(encoding="utf-8")
    assert text.count("n_estimators=200, max_depth=20") == 1  # the "Large RF" %%carbon cell
    edited.write_text(text.replace("n_estimators=200, max_depth=20", "n_estimators=400", 1))
    (tmp_path / "03_inference_cost.py").unlink()
    found = notebook_source_disagreements(tmp_path)
    assert sorted(found) == ["01_random_forest_sizes", "03_inference_cost"]
    assert len(found["01_random_forest_sizes"]) == 1
    assert "differs from 01_random_forest_sizes.py" in found["01_random_forest_sizes"][0]
    assert found["03_inference_cost"] == ["no 03_inference_cost.py to pair with"]


# -- 00 quickstart ---------------------------------------------------------------------------


def test_quickstart(execute):
    nb = execute("00_quickstart.ipynb")
    assert_completed(nb)
    expected = ["Logistic regression", "Small RF", "RF 10 trees", "RF 100 trees"]
    assert list(nb.runs["label"]) == expected
    assert nb.runs["accuracy"].between(0, 1).all()
    assert nb.runs.set_index("label").loc["RF 100 trees", "tags"] == {"n_estimators": "100"}
    assert "Session:" in nb.text_of("%carbon status")
    assert_panel(nb)
    learned = nb.text("learned")
    costliest = nb.runs.loc[nb.runs["emissions_kg"].idxmax(), "label"]
    cheapest = nb.runs.loc[nb.runs["emissions_kg"].idxmin(), "label"]
    assert f"**{len(nb.runs)} runs**" in learned
    assert f"Costliest: **{costliest}**" in learned
    assert f"Cheapest: **{cheapest}**" in learned


# -- 01 Random Forest sizes ------------------------------------------------------------------


def test_random_forest_sizes(execute):
    nb = execute("01_random_forest_sizes.ipynb")
    assert_completed(nb)
    sizes = {"Small RF": ("50", "10"), "Medium RF": ("100", "15"), "Large RF": ("200", "20")}
    for label, (trees, depth) in sizes.items():
        runs = nb.ok_runs(label)
        ways = sorted(tags["way"] for tags in runs["tags"])
        assert ways == ["cell", "loop"], f"{label}: one loop run and one %%carbon run"
        loop = runs[[tags["way"] == "loop" for tags in runs["tags"]]].iloc[0]
        assert (loop["tags"]["n_estimators"], loop["tags"]["max_depth"]) == (trees, depth)
        # Same model, same seed, same data: both ways score the same.
        assert runs["accuracy"].nunique() == 1 and 0 < runs["accuracy"].iloc[0] <= 1
    assert set(nb.runs["label"]) == set(sizes) | set(HARDWARE_RUNS)
    sized = nb.runs[nb.runs["label"].isin(sizes)]
    # Four times the trees, deeper: clearly more CPU work and energy.
    by_label = sized.groupby("label")["energy_kwh"].mean()
    assert by_label["Large RF"] > by_label["Small RF"]

    means = sized.groupby("label")[["emissions_kg", "emissions_kg_per_accuracy_point"]].mean()
    learned = nb.text("learned")
    assert bold(learned, " emitted the most CO2") == means["emissions_kg"].idxmax()
    best = means["emissions_kg_per_accuracy_point"].idxmin()
    assert bold(learned.split("carbon-efficient")[1], ".") == best
    assert f"Most carbon-efficient: {best}," in nb.text_of("best = ")
    assert "image/png" in nb.output_types("figure"), "the four-panel figure was not shown"


# label -> (threads recorded, static power in W) of the thread section
HARDWARE_RUNS = {
    "RF, 1 thread": (1, 0.0),
    "RF, all threads": (None, 0.0),
    "RF, 1 thread, 20 W static": (1, 20.0),
    "RF, all threads, 20 W static": (None, 20.0),
}


def test_random_forest_threads_and_static_power(execute):
    """The MLCost hardware finding, from measured runs: the text reads the ledger's numbers."""
    nb = execute("01_random_forest_sizes.ipynb")
    assert_completed(nb)
    runs = nb.runs.set_index("label").loc[list(HARDWARE_RUNS)]
    for label, (threads, static_w) in HARDWARE_RUNS.items():
        run = runs.loc[label]
        assert (pd.isna(run["threads"]) and threads is None) or run["threads"] == threads, label
        assert run["static_power_w"] == static_w
        assert run["static_energy_kwh"] * 3.6e6 == pytest.approx(static_w * run["duration_s"])
        if threads == 1:  # one core, whatever n_jobs=-1 asks for (the 15 %)
            assert run["cpu_seconds"] / run["duration_s"] < 1.15, label
    # Static power is set for the second pair only, and back to 0 after it.
    configs = [c.source for c in nb.notebook.cells if c.source.startswith("%config")]
    assert configs == [
        "%config CarbonMagics.static_power_w = 20",
        "%config CarbonMagics.static_power_w = 0",
    ]
    text = nb.text("hardware-learned")
    for static_w, name in ((0.0, "No static power"), (20.0, "20 W static")):
        one = runs.loc[[lbl for lbl, v in HARDWARE_RUNS.items() if v == (1, static_w)][0]]
        many = runs.loc[[lbl for lbl, v in HARDWARE_RUNS.items() if v == (None, static_w)][0]]
        line = next(line for line in text.splitlines() if line.startswith(f"- {name}:"))
        assert f"took {many['duration_s']:.2f} s against {one['duration_s']:.2f} s" in line
        mean_w = [r["energy_kwh"] * 3.6e6 / r["duration_s"] for r in (many, one)]
        assert f"drew {mean_w[0]:.1f} W against {mean_w[1]:.1f} W" in line
        ratio = many["energy_kwh"] / one["energy_kwh"]
        verdict = (
            f"{1 - ratio:.0%} less energy"
            if ratio < 0.95
            else f"{ratio - 1:.0%} more energy"
            if ratio > 1.05
            else "about the same energy"
        )
        assert f"**{verdict}" in line, line
        mwh = f"{many['energy_kwh'] * 1e6:.2f} against {one['energy_kwh'] * 1e6:.2f} mWh"
        assert mwh in line
    for threads, who in ((1, "1-thread"), (None, "all-threads")):
        run = runs.loc[[lbl for lbl, v in HARDWARE_RUNS.items() if v == (threads, 20.0)][0]]
        assert f"{run['static_energy_kwh'] / run['energy_kwh']:.0%} of the {who} run" in text
    assert "Measured by: " in text
    table = nb.text("hardware")
    assert "mean_power_w" in table and "cpu_seconds" in table


# -- 02 Random Forest vs MLP vs KNN ----------------------------------------------------------


def test_rf_mlp_knn(execute):
    nb = execute("02_rf_mlp_knn.ipynb")
    assert_completed(nb)
    algorithms = ["Random Forest", "MLP", "KNN"]
    assert "Offline fallback" in nb.text("dataset"), "offline by default: says it uses digits"
    repeats = {"Iris": 5, "digits": 1}  # the millisecond Iris fits are measured five times
    expected = [f"{a} / {d}" for d, n in repeats.items() for a in algorithms for _ in range(n)]
    assert list(nb.runs["label"]) == expected
    assert nb.runs.groupby("label")["group_id"].nunique().eq(1).all()
    summaries = nb.text("repeats")
    assert summaries.count("5 repeats (+1 warm-up)") == 3 and "95 % CI" in summaries
    runs = nb.runs.assign(
        algorithm=nb.runs["tags"].map(lambda t: t["algorithm"]),
        dataset=nb.runs["tags"].map(lambda t: t["dataset"]),
    )
    assert runs["accuracy"].between(0, 1).all()
    assert_panel(nb)
    learned = nb.text("learned")
    for dataset, group in runs.groupby("dataset"):
        means = group.groupby("algorithm")["energy_kwh"].mean()
        most, least = means.idxmax(), means.idxmin()
        line = next(line for line in learned.splitlines() if f"On **{dataset}**" in line)
        assert bold(line, " cost the most energy") == most, line
        assert bold(line, " the least") == least, line
    assert "The harder data set was **digits**" in learned


# -- 03 inference cost -----------------------------------------------------------------------


def test_inference_cost(execute):
    nb = execute("03_inference_cost.ipynb")
    assert_completed(nb)
    models = ["Random Forest", "MLP", "KNN"]
    training = nb.runs[nb.runs["kind"] == "training"].set_index("label")
    inference = nb.runs[nb.runs["kind"] == "inference"].set_index("label")
    assert list(training.index) == models and list(inference.index) == models
    assert training["accuracy"].between(0, 1).all()
    assert (training["accuracy_per_g_co2"] > 0).all()
    assert (inference["inferences"] == 20_000).all()
    assert (inference["emissions_kg_per_1k_inferences"] > 0).all()
    assert training["emissions_kg_per_1k_inferences"].isna().all()

    learned = nb.text("learned")
    per_1k = inference["emissions_kg_per_1k_inferences"]
    assert f"Cheapest to train: **{training['emissions_kg'].idxmin()}**" in learned
    assert f"Cheapest per 1,000 predictions: **{per_1k.idxmin()}**" in learned
    assert f"costliest: **{per_1k.idxmax()}**" in learned
    efficient = training["accuracy_per_g_co2"].idxmax()
    assert f"Most accuracy per gram of training CO2: **{efficient}**" in learned
    # Sizes printed by the notebook: the forest's nodes and KNN's stored training values.
    sizes = dict(re.findall(r"(\w[\w ]*?): accuracy [\d.]+, size ([\d,]+)", nb.text("train")))
    assert int(sizes["KNN"].replace(",", "")) == 8_000 * 20
    largest = max(sizes, key=lambda name: int(sizes[name].replace(",", "")))
    assert f"Largest model: **{largest.strip()}**" in learned
    recorded = training["model_size"]  # run.log_size: in the ledger, as printed
    assert {name.strip(): int(n.replace(",", "")) for name, n in sizes.items()} == dict(recorded)
    assert inference["model_size"].isna().all()
    assert "image/png" in nb.output_types("figure"), "the bubble chart was not shown"


# -- the main job, offline -------------------------------------------------------------------


@pytest.fixture(scope="module")
def offline_job(tmp_path_factory):
    """All notebooks through the main job, kernels cut off from the network, downloads on."""
    tmp = tmp_path_factory.mktemp("offline")
    log = tmp / "network.log"
    env = kernel_env(tmp, MLCOST_ALLOW_DOWNLOAD="1", MLCOST_TEST_NETWORK_LOG=str(log))
    startup = Path(env["IPYTHONDIR"]) / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-no-network.py").write_text(NO_NETWORK_STARTUP)
    del env["MLCOST_LEDGER"]  # the job's default: a ledger in its output folder
    output = tmp / "output"
    started = time.monotonic()
    results = notebook_runner.run_notebooks(
        [NOTEBOOK_DIR / name for name in NOTEBOOKS],
        output,
        env=env,
        cell_timeout_s=120,
        notebook_timeout_s=300,
    )
    ledger = output / DEFAULT_LEDGER_NAME
    with open(tmp / "job.txt", "w", encoding="utf-8") as stream:
        written = notebook_runner.write_job_outputs(results, output, ledger, stream)
    return {
        "results": results,
        "output": output,
        "ledger": ledger,
        "log": log.read_text() if log.exists() else "",
        "printed": (tmp / "job.txt").read_text(),
        "written": written,
        "wall_s": time.monotonic() - started,
    }


def test_notebooks_complete_without_network(offline_job):
    log = offline_job["log"]
    assert log.count("installed") == len(NOTEBOOKS), "the network block ran in every kernel"
    assert "openml.org" in log, "notebook 02 tried OpenML (downloads on) and was refused"
    for result in offline_job["results"]:
        assert result.ok, f"{result.name}: {result.error}"
        assert result.wall_s < MAX_NOTEBOOK_S, result.name
        assert len(result.frame) and set(result.frame["status"]) == {"ok"}
    eeg = next(r for r in offline_job["results"] if r.name == "02_rf_mlp_knn.ipynb")
    notebook = nbformat.read(eeg.executed, as_version=4)
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if "dataset" in cell.metadata.get("tags", [])
        for output in cell.outputs
    )
    assert "Offline fallback" in printed and "did not answer" in printed
    assert set(eeg.frame["label"]) >= {"Random Forest / digits", "MLP / digits", "KNN / digits"}


def test_main_job_writes_notebooks_figures_reports_and_table(offline_job):
    output, results = offline_job["output"], offline_job["results"]
    ledger = Ledger(offline_job["ledger"])
    try:
        everything = ledger.read_runs()
    finally:
        ledger.close()
    assert sorted(everything["session_id"].unique()) == sorted(
        s for r in results for s in r.session_ids
    )
    for result in results:
        executed = nbformat.read(output / result.name, as_version=4)
        assert all(cell.execution_count for cell in executed.cells if cell.cell_type == "code"), (
            result.name
        )
        assert (output / f"{Path(result.name).stem}.png").read_bytes()[:4] == b"\x89PNG"
        html = (output / f"{Path(result.name).stem}.html").read_text(encoding="utf-8")
        for label in result.frame["label"].unique():
            assert label in html
    quickstart = nbformat.read(output / "00_quickstart.ipynb", as_version=4)
    assert quickstart.metadata["widgets"][WIDGET_STATE]["state"], "widget state kept"
    for name in ("tradeoffs.png", "report.html", "comparison.csv"):
        assert output / name in offline_job["written"]
    assert (output / "tradeoffs.png").read_bytes()[:4] == b"\x89PNG"
    headline = (output / "report.html").read_text(encoding="utf-8")
    assert "Large RF" in headline and "Iris" not in headline, "headline: notebook 01's comparison"
    comparison = pd.read_csv(output / "comparison.csv")
    assert len(comparison) == len(everything)
    assert set(comparison["notebook"]) == set(NOTEBOOKS)
    printed = offline_job["printed"]
    for result in results:
        assert f"== {result.name}" in printed
    assert "Large RF" in printed and "CO2" in printed


# -- the runner's own contract ---------------------------------------------------------------


def small_notebook(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    notebook = nbformat.v4.new_notebook()
    for index, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        notebook.cells.append(cell)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, path)
    return path


def test_runner_cli_prints_the_comparison_table(tmp_path):
    output = tmp_path / "out"
    notebook = small_notebook(
        tmp_path / "tiny.ipynb",
        "%load_ext mlcost_magic",
        '%%carbon "Sum" --metric accuracy=acc\nacc = sum(range(100_000)) and 0.5',
        '%%carbon "Raises" --metric accuracy=acc\nraise ValueError("expected")',
        tags={2: ["raises-exception"]},
    )
    env = kernel_env(tmp_path)
    del env["MLCOST_LEDGER"]
    result = subprocess.run(
        [sys.executable, "-m", "mlcost_magic.tutorials", str(notebook), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "== tiny.ipynb" in result.stdout
    table = result.stdout.split("== tiny.ipynb", 1)[1]
    assert "Sum" in table and "Raises" in table and "error" in table
    ledger = Ledger(output / "mlcost_ledger.sqlite")
    try:
        runs = ledger.read_runs().set_index("label")
    finally:
        ledger.close()
    assert runs.loc["Sum", "status"] == "ok" and runs.loc["Sum", "accuracy"] == 0.5
    assert runs.loc["Raises", "status"] == "error"
    for name in ("tiny.ipynb", "tiny.png", "tiny.html", "tradeoffs.png", "report.html"):
        assert (output / name).exists(), name


def test_runner_reports_a_failing_cell_and_keeps_the_notebook(tmp_path):
    notebook = small_notebook(tmp_path / "broken.ipynb", "x = 1", "1 / 0", "y = 2")
    env = kernel_env(tmp_path)
    results = notebook_runner.run_notebooks(
        [notebook], tmp_path / "out", env=env, stream=io.StringIO()
    )
    assert not results[0].ok and "ZeroDivisionError" in results[0].error
    executed = nbformat.read(tmp_path / "out" / "broken.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["ename"] == "ZeroDivisionError"
    assert executed.cells[2].execution_count is None, "stopped at the failing cell"


def test_runner_timeouts_are_finite(tmp_path):
    notebook = small_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)")
    started = time.monotonic()
    _, wall_s, error = notebook_runner.execute_notebook(
        notebook, workdir=tmp_path, env=kernel_env(tmp_path), cell_timeout_s=3
    )
    assert error is not None and "Timeout" in error
    assert time.monotonic() - started < 30

    _, _, error = notebook_runner.execute_notebook(
        notebook,
        workdir=tmp_path,
        env=kernel_env(tmp_path),
        cell_timeout_s=300,
        notebook_timeout_s=3,
    )
    assert error is not None and "Timeout" in error
    assert time.monotonic() - started < 60


def test_runner_takes_tutorial_names_and_refuses_unknown_ones():
    chosen = notebook_runner.resolve_notebooks(["01", "00_quickstart.ipynb"])
    assert [p.name for p in chosen] == ["01_random_forest_sizes.ipynb", "00_quickstart.ipynb"]
    with pytest.raises(FileNotFoundError, match="no single notebook matches '0'"):
        notebook_runner.resolve_notebooks(["0"])  # ambiguous: every tutorial starts with 0
