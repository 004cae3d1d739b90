"""Shared fixtures: every test gets its own ledger and no ambient country setting."""

from __future__ import annotations

import pytest

AMBIENT = (
    "MLCOST_COUNTRY",
    "MLCOST_LEDGER",
    "MLCOST_PUE",
    "MLCOST_CARBON_INTENSITY",
    "MLCOST_CPU_POWER_W_PER_THREAD",
    "CODECARBON_COUNTRY_ISO_CODE",
    "MLCOST_MLFLOW_TRACKING_URI",
    "MLCOST_MLFLOW_EXPERIMENT",
    "MLCOST_USER",
    "MLCOST_HOSTNAME",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """A fresh working directory and ledger path; no MLCOST_/CodeCarbon country from outside."""
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.codecarbon.config from the machine
    monkeypatch.setenv("MLCOST_LEDGER", str(tmp_path / "ledger.sqlite"))
    yield tmp_path


@pytest.fixture
def ledger_path(isolated_env):
    return isolated_env / "ledger.sqlite"


@pytest.fixture(scope="session")
def ipython_shell():
    """One real IPython shell for the test session (IPython keeps it as a singleton)."""
    from IPython.testing.globalipapp import start_ipython

    return start_ipython()


@pytest.fixture
def shell(ipython_shell, isolated_env):
    """The shell with mlcost_magic loaded on this test's ledger; unloaded afterwards."""
    ipython_shell.run_line_magic("load_ext", "mlcost_magic")
    yield ipython_shell
    ipython_shell.run_line_magic("unload_ext", "mlcost_magic")


def run_cell(shell, source: str):
    """Run a cell like a user would; return IPython's ExecutionResult."""
    return shell.run_cell(source, store_history=True)


def session_frame(shell):
    return shell._mlcost_magics.session.to_frame()


@pytest.fixture
def clean_user_ns(ipython_shell):
    """Names a test's cells define are removed afterwards (the shell lives for the session)."""
    before = set(ipython_shell.user_ns)
    yield
    for name in set(ipython_shell.user_ns) - before:
        del ipython_shell.user_ns[name]


FRANCE_BODY = "import time\ntime.sleep(0.12)\nsum(range(200_000))"


@pytest.fixture
def runs(shell):
    """Three runs measured in France: two of 'Small RF', one of 'Large RF'; the ledger's rows
    (the what-if and priced-at tests price them elsewhere)."""
    shell._mlcost_magics.country_iso_code = "FRA"
    run_cell(shell, f"%%carbon -q 'Small RF' --metric accuracy=0.8\n{FRANCE_BODY}")
    run_cell(shell, f"%%carbon -q 'Small RF' --metric accuracy=0.82\n{FRANCE_BODY}")
    run_cell(
        shell, f"%%carbon -q 'Large RF' --metric accuracy=0.9\n{FRANCE_BODY}\nsum(range(10**6))"
    )
    return shell._mlcost_magics.session.read_runs()
