"""A local MLflow tracking server for a class rehearsal, the tests and the benchmarks.

    with ClassServer("runs/class") as server:   # http://127.0.0.1:PORT, SQLite store
        ...                                     # server.uri
    # stopped: its whole process group (MLflow starts a dozen processes), by PID

By default it listens on 127.0.0.1 only and needs no network. For a class, the same from a
shell, listening on every interface (README, "A workshop on one server"):

    python -m mlcost_magic.tutorials.class_server --host 0.0.0.0 --port 5000 --folder class-runs

Gunicorn with a few workers answers in ~1 ms where the default uvicorn stack adds ~44 ms per
request (shared/docs/mlflow-facts.md). ``job_execution=False`` leaves out MLflow's job runner
(a huey consumer per job type, for its GenAI features): eight fewer processes that a tracking
server does not use, and a faster start. ``stop_with_caller=True`` stops the server when the
process that started it ends, however it ends (a rehearsal's kernel killed mid-notebook).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

START_TIMEOUT_S = 90.0
AUTH_SECRET_ENV = "MLFLOW_FLASK_SERVER_SECRET_KEY"
JOB_EXECUTION_ENV = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"
ALL_INTERFACES = ("0.0.0.0", "::", "")
ALLOWED_HOSTS_ENV = "MLFLOW_SERVER_ALLOWED_HOSTS"
LOOPBACK_HOSTS = "localhost:*,127.0.0.1:*"

# Leads the server's process group when stop_with_caller is set: runs `mlflow server` as its
# child, exits with its status, and stops the whole group once its own parent (the caller) is
# gone. It ignores the signals stop() sends the group, so stop() ends it by ending the server.
_STOP_WITH_CALLER = (
    "import os, signal, subprocess, sys, time\n"
    "STOPS = (signal.SIGINT, signal.SIGTERM)\n"
    "for stop in STOPS:\n"
    "    signal.signal(stop, signal.SIG_IGN)\n"
    "caller = int(sys.argv[1])\n"
    "def stoppable():\n"
    "    for stop in STOPS:\n"
    "        signal.signal(stop, signal.SIG_DFL)\n"
    "server = subprocess.Popen(sys.argv[2:], preexec_fn=stoppable)\n"
    "while server.poll() is None:\n"
    "    if os.getppid() != caller:\n"
    "        os.killpg(0, signal.SIGINT)\n"
    "        deadline = time.monotonic() + 5\n"
    "        while server.poll() is None and time.monotonic() < deadline:\n"
    "            time.sleep(0.1)\n"
    "        os.killpg(0, signal.SIGKILL)\n"
    "    time.sleep(0.25)\n"
    "sys.exit(server.returncode)\n"
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class ClassServer:
    def __init__(
        self,
        folder: str | os.PathLike,
        port: int | None = None,
        workers: int = 2,
        auth_config: str | os.PathLike | None = None,
        *,
        host: str = "127.0.0.1",
        allowed_hosts: str | None = None,
        job_execution: bool = False,
        stop_with_caller: bool = False,
    ):
        self.folder = Path(folder).absolute()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port(host if host not in ALL_INTERFACES else "0.0.0.0")
        local = "127.0.0.1" if host in ALL_INTERFACES else host
        self.uri = f"http://{local}:{self.port}"  # where this machine reaches it
        self.workers = workers
        self.auth_config = auth_config
        self.allowed_hosts = allowed_hosts
        self.job_execution = job_execution
        self.stop_with_caller = stop_with_caller
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [
            str(mlflow) if mlflow.exists() else "mlflow",
            "server",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'mlflow.db'}",
            "--default-artifact-root",
            str(self.folder / "artifacts"),
            "--workers",
            str(self.workers),
            "--gunicorn-opts",
            "--no-control-socket",
        ]
        if self.auth_config is not None:
            command += ["--app-name", "basic-auth"]
        return command

    def start(self) -> ClassServer:
        env = dict(os.environ)
        if self.auth_config is not None:
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(self.auth_config)
            env.setdefault(AUTH_SECRET_ENV, os.urandom(16).hex())
        if not self.job_execution:
            env[JOB_EXECUTION_ENV] = "false"
        if self.allowed_hosts:  # the environment: MLflow refuses --allowed-hosts with gunicorn
            env[ALLOWED_HOSTS_ENV] = f"{self.allowed_hosts},{LOOPBACK_HOSTS}"  # replaces its list
        command = self.command()
        if self.stop_with_caller:
            command = [sys.executable, "-c", _STOP_WITH_CALLER, str(os.getpid()), *command]
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 (kept open with the server)
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.folder,
            start_new_session=True,  # its own process group, stopped as one
        )
        log.close()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = (self.folder / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mlflow server exited ({self.process.returncode}):\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server at {self.uri} was not healthy within {timeout_s:g} s")

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop the server's whole process group: SIGINT (gunicorn's quick shutdown; its
        graceful one waits on idle keep-alive clients), then SIGKILL after ``grace_s``."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=grace_s)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        try:  # workers that outlived their master
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process = None

    def __enter__(self) -> ClassServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_class_server(folder: str | os.PathLike, port: int | None = None) -> ClassServer:
    return ClassServer(folder, port).start()


def main(argv: list[str] | None = None) -> int:
    """Run a class server until Ctrl-C: ``python -m mlcost_magic.tutorials.class_server``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mlcost_magic.tutorials.class_server",
        description="An MLflow tracking server for a class: SQLite store in --folder, "
        "gunicorn workers, no job runner. Ctrl-C stops it (every process it started).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0: every interface")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--folder", type=Path, default=Path("class-runs"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--allowed-hosts",
        help="the Host headers MLflow accepts, e.g. teacher-laptop:5000 to hand out a name "
        "(default: MLflow's, localhost and private IP addresses; localhost is always kept)",
    )
    args = parser.parse_args(argv)
    server = ClassServer(
        args.folder,
        args.port,
        args.workers,
        host=args.host,
        allowed_hosts=args.allowed_hosts,
        job_execution=False,
    )
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even where started ignoring it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a service manager's stop
    print(f"starting MLflow on {args.host}:{args.port}, runs in {server.folder / 'mlflow.db'}")
    try:
        server.start()
        if args.host not in ALL_INTERFACES:
            print(f"listening at {server.uri} (this machine only: --host 0.0.0.0 for a class)")
        elif args.allowed_hosts:
            print(f"hand out http://{args.allowed_hosts.split(',')[0]}")
        else:
            name = socket.gethostname()
            print(
                f"hand out http://<this machine's private IP address>:{server.port} (10.*, "
                f"172.16-31.*, 192.168.*); to hand out a name such as {name}, restart with "
                f"--allowed-hosts {name}:{server.port}"
            )
        print("Ctrl-C stops it", flush=True)
        return server.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
