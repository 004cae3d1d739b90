"""A local MLflow tracking server for a class rehearsal, the tests and the benchmarks.

    with start_class_server("runs/class") as server:   # http://127.0.0.1:PORT, SQLite store
        ...                                            # server.uri to hand out
    # stopped: its whole process group (MLflow starts a dozen processes), by PID

It listens on 127.0.0.1 only and needs no network. A real class uses MLflow's own command
(README, "A workshop on one server"). Gunicorn with a few workers answers in ~1 ms where the
default uvicorn stack adds ~44 ms per request (shared/docs/mlflow-facts.md).
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ClassServer:
    def __init__(
        self,
        folder: str | os.PathLike,
        port: int | None = None,
        workers: int = 2,
        auth_config: str | os.PathLike | None = None,
    ):
        self.folder = Path(folder).absolute()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.auth_config = auth_config
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [
            str(mlflow) if mlflow.exists() else "mlflow",
            "server",
            "--host",
            "127.0.0.1",
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
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 (kept open with the server)
        self.process = subprocess.Popen(
            self.command(),
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

    def stop(self) -> None:
        """Stop the server's whole process group (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
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
