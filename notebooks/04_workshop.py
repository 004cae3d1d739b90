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
# # A workshop on one MLflow server
#
# A teacher, a room of participants on their own laptops (or one JupyterHub), one
# projector. Every participant trains the same Random Forests; every run goes to one
# MLflow tracking server; the teacher's panel compares them all, by label, by person and
# by machine.
#
# Run top to bottom by itself, this notebook rehearses the whole class on this machine:
# it starts a local MLflow server, three simulated participants log their runs next to
# yours, and the class view fills up. It stops the server at the end.

# %% [markdown]
# ## The teacher: one command
#
# On a machine the class can reach (your laptop on the room's network, a VM), with
# `pip install "mlcost-magic[tutorials]"` (it brings the MLflow server):
#
# ```bash
# mlflow server --host 0.0.0.0 --port 5000 --backend-store-uri sqlite:///class.db --workers 4
# ```
#
# Hand out **`http://TEACHER-HOST:5000`**, with your machine's IP address on the room's
# network as TEACHER-HOST (`hostname -I`; a private address such as `192.168.1.20`).
# MLflow checks the `Host` header: to hand out a name instead (`teacher-laptop`), add
# `--allowed-hosts "teacher-laptop:5000,localhost:*"`. Pick one experiment name for the
# class, e.g. `workshop-1`. The same server with our defaults, stopped by Ctrl-C:
#
# ```bash
# python -m mlcost_magic.tutorials.class_server --host 0.0.0.0 --port 5000 --folder class-runs
# ```
#
# Anybody who can reach the port can log runs: for a larger or longer-lived deployment
# (PostgreSQL, passwords), see the README, "A workshop on one server".

# %% [markdown]
# ## The rehearsal's server
#
# With `WORKSHOP_MLFLOW_URI` set (to the URL above) this notebook uses that server.
# Without it, it starts one on 127.0.0.1, in a temporary folder, and stops it in the last
# cell, or when the kernel exits, whatever happened in between.

# %% tags=["server"]
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from IPython.display import Markdown

import mlcost_magic
from mlcost_magic.compare.comparison import compare
from mlcost_magic.compare.hosts import host_comparison
from mlcost_magic.share.sharing import read_shared_runs
from mlcost_magic.tutorials.class_server import ClassServer
from mlcost_magic.units import format_duration, format_energy

EXPERIMENT = os.environ.get("WORKSHOP_EXPERIMENT", "workshop-1")
CLASS_URI = os.environ.get("WORKSHOP_MLFLOW_URI", "").strip()
# The rehearsal's files (the server's database, each participant's ledger): a temporary
# folder, removed at the end, unless WORKSHOP_FOLDER names one to keep.
KEEP = bool(os.environ.get("WORKSHOP_FOLDER"))
rehearsal = Path(os.environ.get("WORKSHOP_FOLDER") or tempfile.mkdtemp(prefix="workshop-"))
rehearsal.mkdir(parents=True, exist_ok=True)
server, participants = None, []


def end_rehearsal(grace_s=10.0):
    """Stop what this notebook started: the participants still running, the server (given
    ``grace_s`` to shut down), and remove the rehearsal's temporary folder."""
    for process in participants:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    if server is not None:
        server.stop(grace_s)
    if not KEEP:
        shutil.rmtree(rehearsal, ignore_errors=True)


atexit.register(end_rehearsal, 1.0)  # a kernel shutting down is given 2.5 s, then SIGTERM
if CLASS_URI:
    print(f"class server: {CLASS_URI}")
else:
    started = time.monotonic()
    server = ClassServer(rehearsal / "server", job_execution=False, stop_with_caller=True).start()
    CLASS_URI = server.uri
    print(
        f"rehearsal server: {CLASS_URI}, healthy after {time.monotonic() - started:.0f} s "
        f"(process group {server.process.pid})"
    )

# %% [markdown]
# ## Every participant: two settings
#
# In their own notebook, with the URL and the experiment the teacher handed out:
#
# ```python
# %load_ext mlcost_magic
# %config CarbonMagics.mlflow_experiment = "workshop-1"
# %config CarbonMagics.mlflow_tracking_uri = "http://TEACHER-HOST:5000"
# ```
#
# (or `MLCOST_MLFLOW_TRACKING_URI` and `MLCOST_MLFLOW_EXPERIMENT` in the environment).
# Runs are recorded in the participant's own ledger first, then logged to MLflow in the
# background: a slow or absent server never holds a cell. Runs carry the login name and
# the host name; on a JupyterHub, where everybody is `jovyan` on a pod called
# `jupyter-...`, set `MLCOST_USER` and `MLCOST_HOSTNAME` before the kernel starts.
#
# In this rehearsal you are a participant too:

# %%
# %load_ext mlcost_magic
# %config CarbonMagics.mlflow_experiment = EXPERIMENT
# %config CarbonMagics.mlflow_tracking_uri = CLASS_URI

# %%
# %carbon status

# %% [markdown]
# ## Three more participants
#
# Each one is its own Python process, with its own name, machine name and ledger, as on
# their own laptops. They run this script: the same three Random Forest sizes, measured
# with `mlcost_magic.track` (which follows the `MLCOST_MLFLOW_*` settings), then a sync
# that waits until MLflow holds every run. They all run on this one machine, so their
# "machines" differ only in the CPU cores they may use: the laptop gets one.

# %%
SIZES = {
    "Small RF": {"n_estimators": 20, "max_depth": 6},
    "Medium RF": {"n_estimators": 40, "max_depth": 10},
    "Large RF": {"n_estimators": 80, "max_depth": 14},
}
N_SAMPLES = 3_000

PARTICIPANT = """
import json, os, sys

cores = int(os.environ["WORKSHOP_CORES"])
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])

from sklearn.ensemble import RandomForestClassifier

import mlcost_magic
from mlcost_magic.session import current_session
from mlcost_magic.tutorials.datasets import make_rf_sizes_data

sizes, n_samples = json.loads(sys.argv[1]), int(sys.argv[2])
X_train, X_test, y_train, y_test = make_rf_sizes_data(n_samples=n_samples)
for label, params in sizes.items():
    with mlcost_magic.track(label, tags=params, quiet=True) as run:
        model = RandomForestClassifier(**params, n_jobs=-1, random_state=42)
        model.fit(X_train, y_train)
        run.log_metric("accuracy", model.score(X_test, y_test))
sharing = current_session().sharing
result, waiting, _ = sharing.sync()
print(sharing.status_line())
sys.exit(1 if waiting else 0)
"""
CLASSMATES = [  # user, machine, CPU cores
    ("ada", "laptop-ada", 1),
    ("grace", "workstation-grace", 2),
    ("alan", "cloud-vm-alan", 2),
]

script = rehearsal / "participant.py"
script.write_text(PARTICIPANT, encoding="utf-8")
(rehearsal / "participants").mkdir(exist_ok=True)
for user, machine, cores in CLASSMATES:
    env = {
        **os.environ,
        "MLCOST_USER": user,
        "MLCOST_HOSTNAME": machine,
        "MLCOST_LEDGER": str(rehearsal / "participants" / f"{user}.sqlite"),
        "MLCOST_MLFLOW_TRACKING_URI": CLASS_URI,
        "MLCOST_MLFLOW_EXPERIMENT": EXPERIMENT,
        "WORKSHOP_CORES": str(cores),
    }
    log = open(rehearsal / "participants" / f"{user}.log", "w")  # noqa: SIM115
    participants.append(
        subprocess.Popen(
            [sys.executable, str(script), json.dumps(SIZES), str(N_SAMPLES)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not yours: an interrupt of your cell leaves them be
        )
    )
    log.close()
print(f"{len(participants)} participants started: {', '.join(u for u, _, _ in CLASSMATES)}")

# %% [markdown]
# ## Your Random Forests
#
# While they train, you train the same three sizes, one `%%carbon` cell each, with the
# accuracy as the run's metric. Each cell's run goes to the class server as soon as it ends.

# %% tags=["dataset"]
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score

from mlcost_magic.tutorials.datasets import make_rf_sizes_data

data = make_rf_sizes_data(n_samples=N_SAMPLES)
X_train, X_test, y_train, y_test = data
print(data.describe())

# %%
# %%carbon "Small RF" --metric accuracy=acc
small = RandomForestClassifier(**SIZES["Small RF"], n_jobs=-1, random_state=42)
small.fit(X_train, y_train)
acc = accuracy_score(y_test, small.predict(X_test))

# %%
# %%carbon "Medium RF" --metric accuracy=acc
medium = RandomForestClassifier(**SIZES["Medium RF"], n_jobs=-1, random_state=42)
medium.fit(X_train, y_train)
acc = accuracy_score(y_test, medium.predict(X_test))

# %%
# %%carbon "Large RF" --metric accuracy=acc
large = RandomForestClassifier(**SIZES["Large RF"], n_jobs=-1, random_state=42)
large.fit(X_train, y_train)
acc = accuracy_score(y_test, large.predict(X_test))

# %% [markdown]
# ## Everyone done?
#
# Wait for the three participants (at most a minute), then push whatever of yours still
# waits: `%carbon sync` returns once the server holds it, and says how many.

# %% tags=["participants"]
deadline = time.monotonic() + 60
for (user, _, _), process in zip(CLASSMATES, participants, strict=True):
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    said = (rehearsal / "participants" / f"{user}.log").read_text(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"participant {user} failed ({process.returncode}):\n{said[-2000:]}")
    print(f"{user}: {said.strip().splitlines()[-1]}")

# %%
# %carbon sync

# %% [markdown]
# ## The class, as the teacher sees it
#
# Every run in the experiment, from every participant and machine: the columns of
# `%carbon table`, plus `user` and `hostname`.

# %% tags=["class"]
# %carbon table --mlflow

# %% [markdown]
# The class panel, for the projector: it reads the experiment again every 10 s while it is
# shown, so runs appear as participants finish them. "Group by" regroups and recolours
# the comparison by label, person or machine.

# %% tags=["panel"]
# %carbon panel --mlflow

# %% [markdown]
# ## The hardware comparison
#
# The same label on different machines: mean duration, energy and mean power (energy /
# duration) per host. The MLCost study drew this by hand on Azure VMs; here it comes from
# the measured runs.

# %% tags=["figure"]
# %carbon plot --mlflow --by host

# %% [markdown]
# ## Try this
#
# * Run a real class: start the server with the command at the top, set
#   `WORKSHOP_MLFLOW_URI=http://TEACHER-HOST:5000` before starting Jupyter, and let the
#   participants run the cells of "Every participant" and "Your Random Forests".
# * `%carbon plot --mlflow --by user` draws the four-panel trade-off figure with one
#   colour per participant.
# * Give the laptop two cores (`CLASSMATES`): does it still take longest?

# %% [markdown]
# ## What we learned
#
# Computed from the runs on the class server (in Python, the frame `%carbon table
# --mlflow` shows is `compare(read_shared_runs(target)).frame`):

# %% tags=["learned"]
class_runs = compare(read_shared_runs(mlcost_magic.current_session().sharing.target)).frame
people = sorted(class_runs["user"].unique())
machines = class_runs["hostname"].nunique()
hosts = host_comparison(class_runs)
by_host = hosts[hosts["label"] == "Large RF"].set_index("hostname")
fastest, slowest = by_host["duration_s"].idxmin(), by_host["duration_s"].idxmax()
hungriest, thriftiest = by_host["mean_power_w"].idxmax(), by_host["energy_kwh"].idxmin()
efficient = class_runs.loc[class_runs["accuracy_per_g_co2"].idxmax()]
Markdown(
    f"- **{len(people)} participants** ({', '.join(people)}) logged **{len(class_runs)} runs** "
    f"from **{machines} machines** to one MLflow experiment, `{EXPERIMENT}`.\n"
    f"- The Large RF finished fastest on **{fastest}** "
    f"({format_duration(by_host.loc[fastest, 'duration_s'])}) and slowest on **{slowest}** "
    f"({format_duration(by_host.loc[slowest, 'duration_s'])}); **{hungriest}** drew the most "
    f"power ({by_host.loc[hungriest, 'mean_power_w']:.1f} W) and **{thriftiest}** used the "
    f"least energy ({format_energy(by_host.loc[thriftiest, 'energy_kwh'])}).\n"
    f"- The most accuracy per gram of CO2: **{efficient['label']}** by "
    f"**{efficient['user']}** on {efficient['hostname']}.\n"
    "- In this rehearsal every machine was this one, sharing its cores: on real laptops and "
    "VMs the same panel shows what each machine costs."
)

# %% [markdown]
# ## Closing the rehearsal
#
# Stop the local server (a class server given by `WORKSHOP_MLFLOW_URI` keeps running).

# %%
end_rehearsal()
print("rehearsal server stopped" if server is not None else f"{CLASS_URI} left running")
