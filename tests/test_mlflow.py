"""The shared ledger on a real MLflow server (127.0.0.1, SQLite backend store), never a mock.

The server is started by these tests and stopped by its process group. MLflow's own client
(``MlflowClient``) is the oracle for what landed: our reader is checked against it, not itself.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import statistics
import sys
import time
import uuid
import warnings

import pytest

from mlcost_magic.errors import ShareWarning
from mlcost_magic.share.sharing import WARNING_CHECK_EVERY_S
from mlcost_magic.tutorials.class_server import ClassServer, free_port

pytestmark = pytest.mark.slow

SYNC_WAIT_S = 60.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ClassServer(tmp_path_factory.mktemp("mlflow")) as running:
        yield running


@pytest.fixture(autouse=True)
def forget_config(ipython_shell):
    """%config writes the shell's config, which the next %load_ext would read: undo it, and
    close this test's session (its pusher) before the next test."""
    yield
    ipython_shell.config.pop("CarbonMagics", None)


@pytest.fixture
def experiment():
    return f"test-{uuid.uuid4().hex[:8]}"


def mlflow_runs(uri: str, experiment: str) -> list:
    """Every run of the experiment, read with MLflow's own client."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return client.search_runs([found.experiment_id], max_results=5000)


def share(shell, uri: str, experiment: str) -> None:
    shell.run_line_magic("config", f"CarbonMagics.mlflow_tracking_uri = '{uri}'")
    shell.run_line_magic("config", f"CarbonMagics.mlflow_experiment = '{experiment}'")


def wait_synced(session, count: int, timeout_s: float = SYNC_WAIT_S) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = session.sharing.queue.counts()
        if counts["synced"] >= count:
            return counts
        time.sleep(0.2)
    raise AssertionError(f"not synced within {timeout_s} s: {session.sharing.queue.counts()}")


def wait_failed(session, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while session.sharing.queue.state()["last_error"] is None:
        assert time.monotonic() < deadline, "the pusher recorded no failure"
        time.sleep(0.1)
    time.sleep(WARNING_CHECK_EVERY_S)  # the kernel looks at most once a second


# -- turning it on -------------------------------------------------------------------------


def test_off_by_default_and_refused_in_one_line_without_the_client(shell, monkeypatch, caplog):
    from traitlets import TraitError

    magics = shell._mlcost_magics
    assert magics.session.sharing is None
    assert "MLflow:  off" in magics.session.status_text()
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if it were not installed
    with pytest.raises(TraitError) as caught:
        magics.mlflow_tracking_uri = "http://127.0.0.1:9"
    message = str(caught.value)
    assert 'pip install "mlcost-magic[mlflow]"' in message and "\n" not in message
    assert magics.mlflow_tracking_uri is None and magics.session.sharing is None  # undone
    shell.run_line_magic("config", "CarbonMagics.mlflow_tracking_uri = 'http://127.0.0.1:9'")
    assert [r.getMessage() for r in caplog.records] == [message]  # %config shows the line
    monkeypatch.delitem(sys.modules, "mlflow")
    with pytest.raises(TraitError, match="must be the http"):
        magics.mlflow_tracking_uri = "ftp://x"


def test_every_run_lands_once_with_the_ledger_figures(shell, server, experiment, capfd):
    share(shell, server.uri, experiment)
    session = shell._mlcost_magics.session
    capfd.readouterr()
    shell.run_cell("%%carbon Small RF --tag cohort=a --metric accuracy=0.81 -q\nx = sum(range(9))")
    shell.run_cell("%%carbon Broken -q\n1/0")
    shell.run_cell("%%carbon Stopped -q\nraise KeyboardInterrupt")
    out, err = capfd.readouterr()
    assert "View run" not in out + err and "mlflow" not in (out + err).lower()
    wait_synced(session, 3)
    ledger = session.read_runs().set_index("run_id")
    runs = mlflow_runs(server.uri, experiment)
    assert len(runs) == 3
    by_id = {run.data.tags["mlcost.run_id"]: run for run in runs}
    assert set(by_id) == set(ledger.index)
    for run_id, row in ledger.iterrows():
        run = by_id[run_id]
        assert run.info.run_name == row.label
        assert run.info.status == {"ok": "FINISHED", "error": "FAILED"}.get(row.status, "KILLED")
        for name in ("duration_s", "cpu_seconds", "energy_kwh", "emissions_kg", "ram_gb"):
            assert run.data.metrics[name] == pytest.approx(row[name], rel=1e-12)
        params = run.data.params
        assert params["hostname"] == row.hostname and params["method"] == row.method
        assert float(params["pue"]) == row.pue and params["session_id"] == row.session_id
        assert params["user"] and params["mlcost_magic_version"] and params["codecarbon_version"]
    small = by_id[ledger.index[ledger.label == "Small RF"][0]]
    assert small.data.metrics["accuracy"] == 0.81 and small.data.tags["cohort"] == "a"
    # The shared table: the same columns as %carbon table, plus user; the same figures.
    local = shell.run_line_magic("carbon", "table")
    shared = shell.run_line_magic("carbon", "table --mlflow")
    assert local["synced"].all()
    assert set(shared.columns) == (set(local.columns) - {"synced"}) | {"user"}
    shared = shared.set_index("run_id")
    for column in ("energy_kwh", "emissions_kg", "accuracy", "duration_s"):
        expected = ledger.loc[shared.index, column]
        assert shared[column].fillna(-1).tolist() == expected.fillna(-1).tolist()  # NaN too
    assert shared.loc[small.data.tags["mlcost.run_id"], "tags"] == {"cohort": "a"}
    assert "MLflow: " in session.status_text() and "0 runs waiting, 3 synced" in (
        session.status_text()
    )


def test_a_run_inside_the_users_mlflow_run_is_its_child(shell, server, experiment):
    import mlflow

    mlflow.set_tracking_uri(server.uri)
    mlflow.set_experiment(experiment + "-mine")
    share(shell, server.uri, experiment)
    session = shell._mlcost_magics.session
    with mlflow.start_run() as mine:
        shell.run_cell("%%carbon Nested -q\nx = 1")
    wait_synced(session, 1)
    runs = mlflow_runs(server.uri, experiment + "-mine")
    child = [r for r in runs if "mlcost.run_id" in r.data.tags]
    assert len(child) == 1 and child[0].data.tags["mlflow.parentRunId"] == mine.info.run_id
    mlflow.set_tracking_uri(None)


# -- never in the way, never lost, never twice -------------------------------------------------


def _cell_times_s(shell, count: int) -> list[float]:
    times = []
    for index in range(count):
        start = time.perf_counter()
        shell.run_cell(f"%%carbon cell {index} -q\nx = {index}")
        times.append(time.perf_counter() - start)
    return times


def test_a_refused_port_holds_no_cell_warns_once_and_syncs_when_back(shell, tmp_path, caplog):
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    experiment = "refused"
    baseline = statistics.median(_cell_times_s(shell, 5))
    share(shell, uri, experiment)
    session = shell._mlcost_magics.session
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = _cell_times_s(shell, 5)
        wait_failed(session)  # the pusher (it imports mlflow first: ~2 s) has failed
        later = _cell_times_s(shell, 5)
    ours = [w for w in caught if issubclass(w.category, ShareWarning)]
    assert len(ours) == 1 and "connection refused" in str(ours[0].message)
    assert [w for w in caught if not issubclass(w.category, ShareWarning)] == []
    assert statistics.median(first + later) - baseline < 0.05 and max(first + later) < 0.5
    assert [r for r in caplog.records if r.levelno >= 30] == []
    status = session.sharing.status_line()
    assert "10 runs waiting" in status and "last error: connection refused" in status
    assert shell.run_line_magic("carbon", "table")["synced"].sum() == 0
    with ClassServer(tmp_path / "back", port=port):
        shell.run_line_magic("carbon", "sync")
        assert session.sharing.queue.counts() == {"waiting": 0, "synced": 10, "rejected": 0}
        assert len(mlflow_runs(uri, experiment)) == 10


def test_a_hung_server_holds_no_cell_and_its_runs_sync_once_it_is_back(shell, tmp_path):
    hung = socket.socket()  # accepts connections (the kernel's backlog), never answers
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    port = hung.getsockname()[1]
    try:
        share(shell, f"http://127.0.0.1:{port}", "hung")
        session = shell._mlcost_magics.session
        times = _cell_times_s(shell, 8)
        assert max(times) < 0.5, times  # the request timeout is 5 s: nobody waited on it
        wait_failed(session)
        assert "no answer within 5 s" in session.sharing.status_line()
        assert session.sharing.queue.counts()["waiting"] == 8
    finally:
        hung.close()
    with ClassServer(tmp_path / "back", port=port):  # the same address answers again
        shell.run_line_magic("carbon", "sync")
        assert session.sharing.queue.counts() == {"waiting": 0, "synced": 8, "rejected": 0}
        assert len(mlflow_runs(f"http://127.0.0.1:{port}", "hung")) == 8


def test_a_crash_after_the_server_accepted_does_not_log_twice(shell, server, experiment):
    """The ledger never heard that the server took these runs (the process died between
    the two): the next push finds them by their mlcost.run_id and does not log them again."""
    share(shell, server.uri, experiment)
    session = shell._mlcost_magics.session
    for index in range(4):
        shell.run_cell(f"%%carbon crash {index} -q\nx = {index}")
    wait_synced(session, 4)
    with sqlite3.connect(session.ledger.path) as conn:  # as a crash would have left them
        conn.execute(
            "UPDATE mlflow_sync SET state = 'pushing', mlflow_run_id = NULL, "
            "claimed_by = 'dead-host:1:1', claimed_at = 0"
        )
    result, waiting, _ = session.sharing.sync()
    assert (result.found, result.pushed, waiting) == (4, 0, 0)
    assert len(mlflow_runs(server.uri, experiment)) == 4


def test_a_killed_server_restarted_ends_with_each_run_once(shell, tmp_path, experiment):
    port = free_port()
    folder = tmp_path / "restart"
    uri = f"http://127.0.0.1:{port}"
    first = ClassServer(folder, port=port).start()
    share(shell, uri, experiment)
    session = shell._mlcost_magics.session
    code = (
        "import mlcost_magic\n"
        "for i in range(300):\n"
        "    with mlcost_magic.track(f'run {i % 3}', quiet=True):\n"
        "        sum(range(1000))\n"
    )
    shell.run_cell(code)
    deadline = time.monotonic() + 30
    while session.sharing.queue.counts()["synced"] < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    import signal

    os.killpg(first.process.pid, signal.SIGKILL)  # mid-way, in the middle of requests
    first.process.wait(timeout=10)
    first.process = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shell.run_cell(code)
    assert len([w for w in caught if issubclass(w.category, ShareWarning)]) <= 1
    with ClassServer(folder, port=port):
        shell.run_line_magic("carbon", "sync")
        runs = mlflow_runs(uri, experiment)
        ids = [run.data.tags["mlcost.run_id"] for run in runs]
        assert len(ids) == 600 and len(set(ids)) == 600
        assert session.sharing.queue.counts()["synced"] == 600


def test_two_kernels_on_one_ledger_log_each_run_once(server, experiment, ledger_path):
    from test_kernels import Kernel

    env = {
        "MLCOST_MLFLOW_TRACKING_URI": server.uri,
        "MLCOST_MLFLOW_EXPERIMENT": experiment,
    }
    os.environ.update(env)
    try:
        kernels = [Kernel(ledger_path), Kernel(ledger_path)]
    finally:
        for name in env:
            os.environ.pop(name)
    try:
        for kernel in kernels:
            assert kernel.run("%load_ext mlcost_magic")["status"] == "ok"
        loop = (
            "import mlcost_magic\n"
            "for i in range(300):\n"
            "    with mlcost_magic.track(f'model {i % 5}', quiet=True) as run:\n"
            "        sum(range(2000))\n"
            "        run.log_metric('accuracy', i / 300)\n"
        )
        sent = [kernel.submit(loop) for kernel in kernels]  # both at once
        for kernel, msg_id in zip(kernels, sent, strict=True):
            assert kernel.reply(msg_id, timeout=240)["status"] == "ok"
        for kernel in kernels:  # both sync the one ledger
            assert kernel.run("%carbon sync", timeout=240)["status"] == "ok"
    finally:
        for kernel in kernels:
            kernel.shutdown()
    from mlcost_magic.store.ledger import Ledger

    ledger = Ledger(ledger_path).read_runs().set_index("run_id")
    runs = mlflow_runs(server.uri, experiment)
    by_id = {run.data.tags["mlcost.run_id"]: run for run in runs}
    assert len(runs) == 600 and set(by_id) == set(ledger.index)
    for run_id, run in by_id.items():
        assert run.data.metrics["energy_kwh"] == ledger.loc[run_id, "energy_kwh"]
        assert run.data.metrics["accuracy"] == ledger.loc[run_id, "accuracy"]


# -- credentials and other people's text ------------------------------------------------------

PASSWORD = "correct-horse-battery-7"
WRONG = "wrong-password-for-test"


@pytest.fixture
def auth_server(tmp_path):
    ini = tmp_path / "auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{tmp_path / 'auth.db'}\n"
        f"admin_username = admin\nadmin_password = {PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "auth_cache_ttl_seconds = 60\n"
    )
    with ClassServer(tmp_path / "auth-server", auth_config=ini) as running:
        yield running


def test_a_wrong_password_warns_once_keeps_runs_and_is_written_nowhere(
    shell, auth_server, monkeypatch, capfd, tmp_path
):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", WRONG)
    share(shell, auth_server.uri, "auth")
    session = shell._mlcost_magics.session
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _cell_times_s(shell, 3)
        wait_failed(session)
        _cell_times_s(shell, 3)
        shell.run_line_magic("carbon", "status")
        shell.run_line_magic("carbon", "sync")
    ours = [str(w.message) for w in caught if issubclass(w.category, ShareWarning)]
    assert len(ours) == 1 and "credentials rejected (HTTP 401)" in ours[0]
    assert session.sharing.queue.counts()["waiting"] == 6
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    shell.run_line_magic("carbon", "sync")
    shell.run_line_magic("carbon", "export exported.csv")
    shell.run_line_magic("carbon", "report report.html")
    out, err = capfd.readouterr()
    assert session.sharing.queue.counts()["synced"] == 6
    written = b"".join(
        path.read_bytes()
        for path in tmp_path.rglob("*")
        if path.is_file() and "auth-server" not in path.parts and path.name != "auth.ini"
    )
    from mlflow import MlflowClient

    runs = MlflowClient(auth_server.uri).search_runs(
        [MlflowClient(auth_server.uri).get_experiment_by_name("auth").experiment_id]
    )
    shared = repr([(r.data.params, r.data.tags) for r in runs])
    for secret in (PASSWORD, WRONG):
        assert secret.encode() not in written
        assert secret not in out + err + " ".join(ours) + shared


def test_other_peoples_labels_are_text_in_the_teachers_table(shell, server, experiment):
    share(shell, server.uri, experiment)
    session = shell._mlcost_magics.session
    label = "<img src=x onerror=alert(1)>"
    shell.run_cell(f"%%carbon {label} -q --tag '<b>=<script>x</script>'\nx = 1")
    wait_synced(session, 1)
    from mlcost_magic.compare.comparison import compare
    from mlcost_magic.views.table import html_table

    shared = shell.run_line_magic("carbon", "table --mlflow")
    markup = html_table(compare(shared))
    assert label in shared["label"].tolist()
    assert "<img" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "<script>" not in markup
    shell.run_line_magic("carbon", "report class.html --mlflow")
    report = (session.ledger.path.parent / "class.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in report and "<img src=x" not in report


def _pushers_of(ledger_path) -> list[int]:
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "mlcost_magic.share.pusher" in cmdline and str(ledger_path) in cmdline:
            found.append(process.info["pid"])
    return found


def test_the_background_pusher_is_detached_and_ends_with_its_session(ledger_path):
    """Not a child of the kernel (its CPU is never charged to a cell), and gone once the
    session closes, after its last bounded attempt (here: a refused port)."""
    import psutil

    from mlcost_magic.measure.settings import Settings
    from mlcost_magic.session import Session

    uri = f"http://127.0.0.1:{free_port()}"
    session = Session(Settings(ledger_path=ledger_path, mlflow_tracking_uri=uri))
    deadline = time.monotonic() + 10
    while not _pushers_of(ledger_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    (pid,) = _pushers_of(ledger_path)
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert pid not in children
    session.close()
    deadline = time.monotonic() + 30
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_mlflows_host_check_is_not_taken_for_bad_credentials():
    """MLflow answers 403 with this text to a Host header it does not allow (a class handed a
    host name); the message must point at the URL, not at the password."""
    import requests

    from mlcost_magic.share.server import MlflowServer
    from mlcost_magic.share.target import Target

    server = MlflowServer(Target("http://teacher-host:5000", "x"))
    answer = requests.Response()
    answer.status_code = 403
    answer._content = b"Invalid Host header - possible DNS rebinding attack detected"
    assert "host name in the URL" in server._http_error(answer).reason
    answer._content = b'{"error_code": "PERMISSION_DENIED", "message": "no"}'
    assert server._http_error(answer).reason == "credentials rejected (HTTP 403)"
