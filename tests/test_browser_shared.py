"""The shared panel (%carbon panel --mlflow) in a real JupyterLab, in Debian's Chromium, over a
real MLflow server: another participant's runs (another user, another host) beside the
teacher's, grouped by host, the hardware comparison drawn, their label shown as text."""

from __future__ import annotations

import uuid

import pytest

pytest_plugins = ("browser_support",)
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLASSMATE_LABEL = "Small RF"
ODD_LABEL = "<img src=x onerror=alert(1)>"


def _classmate_logs(uri: str, experiment: str, ledger_path, monkeypatch) -> None:
    """Another participant, on another machine: two runs of the teacher's label, one odd one."""
    from mlcost_magic.measure.settings import Settings
    from mlcost_magic.session import Session

    monkeypatch.setenv("MLCOST_USER", "ada")
    monkeypatch.setenv("MLCOST_HOSTNAME", "laptop-ada")
    session = Session(
        Settings(ledger_path=ledger_path, mlflow_tracking_uri=uri, mlflow_experiment=experiment)
    )
    try:
        for label in (CLASSMATE_LABEL, CLASSMATE_LABEL, ODD_LABEL):
            with session.track(label, quiet=True) as run:
                sum(range(300_000))
                run.log_metric("accuracy", 0.8)
        result, waiting, _ = session.sharing.sync()
        assert (result.pushed, waiting) == (3, 0)
    finally:
        session.close()


def test_the_shared_panel_groups_by_host_and_draws_the_hardware_comparison(
    lab_server, lab_page, tmp_path, monkeypatch
):
    from browser_support import ARTIFACTS, run_all_cells, screenshot_on_failure
    from playwright.sync_api import expect

    from mlcost_magic.tutorials.class_server import ClassServer

    experiment = f"browser-{uuid.uuid4().hex[:6]}"
    with ClassServer(tmp_path / "mlflow") as server:
        _classmate_logs(server.uri, experiment, tmp_path / "ada.sqlite", monkeypatch)
        cells = [
            "%load_ext mlcost_magic",
            f"%config CarbonMagics.mlflow_experiment = '{experiment}'\n"
            f"%config CarbonMagics.mlflow_tracking_uri = '{server.uri}'",
            f'%%carbon "{CLASSMATE_LABEL}" --metric accuracy=acc -q\n'
            "x = sum(range(10**6))\nacc = 0.9",
            "%carbon sync",
            "%carbon panel --mlflow",
        ]
        page = lab_page
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        with screenshot_on_failure(page, "shared-panel"):
            run_all_cells(page, lab_server, "shared.ipynb", cells)

            panel = page.locator(".mlcost-panel")
            table = panel.locator(".mlcost-table")
            expect(table.locator("tbody tr")).to_have_count(4)  # a row per run: 3 of ada's, 1
            expect(table).to_contain_text(ODD_LABEL)  # text, not an element
            expect(table.locator("img")).to_have_count(0)
            hosts = panel.locator("img.mlcost-hosts-figure")  # Small RF ran on two hosts
            expect(hosts).to_be_visible()
            page.wait_for_function(
                "el => el.complete && el.naturalWidth > 300", arg=hosts.element_handle()
            )

            figure = panel.locator("img.mlcost-figure")
            by_label = figure.get_attribute("src")
            panel.locator(".mlcost-group select").select_option(label="host")
            expect(table).to_contain_text("laptop-ada")
            expect(table).not_to_contain_text(ODD_LABEL)  # grouped by host now
            expect(table.locator("tbody tr")).to_have_count(4)
            expect(figure).not_to_have_attribute("src", by_label)  # the figure follows
            panel.locator(".mlcost-group select").select_option(label="user")
            expect(table).not_to_contain_text("laptop-ada")

            expect(table.locator("tbody tr td:first-child").filter(has_text="ada")).to_have_count(3)
            expect(page.get_by_text("Error displaying widget")).to_have_count(0)
            expect(
                page.locator(
                    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                )
            ).to_have_count(0)
            assert dialogs == []
            ARTIFACTS.mkdir(exist_ok=True)
            panel.screenshot(path=str(ARTIFACTS / "panel-shared.png"))
