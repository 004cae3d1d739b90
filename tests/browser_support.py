"""A real JupyterLab on loopback and Debian's Chromium through plain Playwright, for the
browser tests (see shared/docs/browser-testing.md for why each setting is there)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXPECT_TIMEOUT_MS = 60_000
SERVER_START_TIMEOUT_S = 90
REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"

USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# Awaits the app, the current notebook's context and session, and the kernel's info reply; every
# wait is bounded (page.evaluate itself has no timeout).
WAIT_FOR_KERNEL_JS = """
async (timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  const bounded = (promise, what) => Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(
      () => reject(new Error('timed out waiting for ' + what)), Math.max(0, deadline - Date.now())))
  ]);
  const until = async (read, what) => {
    while (Date.now() < deadline) {
      const value = read();
      if (value) return value;
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error('timed out waiting for ' + what);
  };
  const app = await until(() => window.jupyterapp, 'window.jupyterapp');
  await bounded(app.started, 'app.started');
  await bounded(app.restored, 'app.restored');
  const panel = await until(() => {
    const widget = app.shell.currentWidget;
    return widget && widget.sessionContext && widget.content ? widget : null;
  }, 'a notebook panel');
  await bounded(panel.context.ready, 'context.ready');
  await bounded(panel.sessionContext.ready, 'sessionContext.ready');
  const kernel = await until(
    () => panel.sessionContext.session && panel.sessionContext.session.kernel, 'a kernel');
  const info = await bounded(kernel.info, 'kernel.info');
  return info.implementation;
}
"""

# Records every distinct text of the live meter element while cells run.
WATCH_LIVE_METER_JS = """
() => {
  window.__mlcostLiveMeterTexts = [];
  const record = () => {
    for (const el of document.querySelectorAll('.mlcost-live-meter')) {
      const text = el.textContent;
      const seen = window.__mlcostLiveMeterTexts;
      if (!seen.includes(text)) seen.push(text);
    }
  };
  new MutationObserver(record).observe(
    document.body, {childList: true, subtree: true, characterData: true});
}
"""


def ensure_chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing (CI starts from a bare machine)."""
    if not os.path.exists(CHROMIUM):
        apt = shutil.which("apt-get")
        if apt is None:
            pytest.skip("no /usr/bin/chromium and no apt-get to install it")
        subprocess.run([apt, "update"], check=True, timeout=300)
        subprocess.run(
            [apt, "install", "-y", "--no-install-recommends", "chromium"], check=True, timeout=600
        )
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    root_dir: Path
    port: int
    token: str
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        return f"{self.base_url}/lab/tree/{name}?token={self.token}&reset"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def start_lab(base: Path, extra_env: dict[str, str]) -> LabServer:
    """JupyterLab on 127.0.0.1 with isolated config/data/runtime/IPython dirs and quiet UI."""
    root_dir, home = base / "root", base / "home"
    settings_dir = base / "lab-settings"
    for folder in (root_dir, home, settings_dir, base / "workspaces"):
        folder.mkdir(parents=True, exist_ok=True)
    for relative, values in USER_SETTINGS.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ)
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(base / "jupyter-config"),
            "JUPYTER_DATA_DIR": str(base / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
            "IPYTHONDIR": str(base / "ipython"),
            "HOME": str(home),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        }
    )
    env.update(extra_env)
    port, token = free_port(), secrets.token_hex(16)
    log_path = base / "jupyterlab.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--port-retries=0",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.allow_root=True",
        f"--ServerApp.root_dir={root_dir}",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the server
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root_dir)
    server = LabServer(root_dir, port, token, process, log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{server.log_tail()}")
        try:
            url = f"{server.base_url}/api/status?token={token}"
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    stop_lab(server)
    raise RuntimeError(f"JupyterLab did not answer in {SERVER_START_TIMEOUT_S} s")


def stop_lab(server: LabServer) -> None:
    """SIGTERM to our own server process (it shuts its kernels down), then wait."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


RUN_ALL_CELLS_JS = "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"


def run_all_cells(page, lab_server, name: str, cells: list[str], before_run_js: str = "") -> None:
    """Write ``cells`` as notebook ``name``, open it in the lab, run every cell and wait until
    each has run (its prompt shows a number). ``before_run_js``: evaluated before the run."""
    from playwright.sync_api import expect

    write_notebook(lab_server.root_dir / name, cells)
    page.goto(lab_server.notebook_url(name))
    assert page.evaluate(WAIT_FOR_KERNEL_JS, EXPECT_TIMEOUT_MS) == "ipython"
    if before_run_js:
        page.evaluate(before_run_js)
    # Not awaited: page.evaluate has no timeout of its own; the prompts tell us when done.
    page.evaluate(RUN_ALL_CELLS_JS)
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    expect(prompts).to_have_count(len(cells))
    for number in range(len(cells)):
        expect(prompts.nth(number)).to_have_text(re.compile(r"\[\d+\]"))


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A minimal nbformat-4 notebook of code cells."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{number}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for number, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))
    return path


@pytest.fixture(scope="session")
def chromium_browser():
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (test extra)")
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab")
    server = start_lab(
        base,
        {"MLCOST_LEDGER": str(base / "ledger.sqlite"), "MLCOST_COUNTRY": "FRA"},
    )
    yield server
    stop_lab(server)


@pytest.fixture
def lab_page(chromium_browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    yield page
    context.close()


@contextlib.contextmanager
def screenshot_on_failure(page, name: str):
    """Keep a full-page screenshot under test-artifacts/ when the block fails."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
        raise
