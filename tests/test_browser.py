"""The panel in a real JupyterLab, in Debian's Chromium: two %%carbon cells, then %carbon panel.

Run with ``timeout 600 .venv/bin/python -m pytest -m browser tests/test_browser.py``.
"""

from __future__ import annotations

import re
import time

import pytest

# Loaded as a plugin (its fixtures: chromium_browser, lab_server, lab_page) and imported in the
# test, so pytest imports it first and rewrites its asserts.
pytest_plugins = ("browser_support",)
pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUICK_LABEL = "quick sum"
SLOW_LABEL = "slow <img src=x onerror=alert(1)>"
CELLS = [
    "%load_ext mlcost_magic",
    f'%%carbon "{QUICK_LABEL}" --metric accuracy=acc --size 1000\n'
    "x = sum(range(10**6))\nacc = 0.91",
    f'%%carbon "{SLOW_LABEL}" --metric accuracy=acc --size 4000\n'
    "import time\ntime.sleep(3)\nacc = 0.95",
    "%carbon panel",
]


def test_panel_renders_after_two_tracked_cells(lab_server, lab_page):
    from browser_support import (
        ARTIFACTS,
        WATCH_LIVE_METER_JS,
        run_all_cells,
        screenshot_on_failure,
    )
    from playwright.sync_api import expect

    from mlcost_magic.compare.pricing import country_choices

    page = lab_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    started = time.monotonic()
    with screenshot_on_failure(page, "panel"):
        run_all_cells(page, lab_server, "panel.ipynb", CELLS, before_run_js=WATCH_LIVE_METER_JS)

        panel = page.locator(".mlcost-panel")
        expect(panel).to_be_visible()
        table = panel.locator(".mlcost-table")
        expect(table).to_contain_text(QUICK_LABEL)
        expect(table).to_contain_text(SLOW_LABEL)  # literal text, not an element
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table.locator("img")).to_have_count(0)
        figure = panel.locator("img.mlcost-figure")
        expect(figure).to_be_visible()
        page.wait_for_function(
            "el => el.complete && el.naturalWidth > 300", arg=figure.element_handle()
        )
        expect(panel.locator(".mlcost-footer")).to_contain_text("FRA")

        expect(page.get_by_text("Error displaying widget")).to_have_count(0)
        expect(
            page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        ).to_have_count(0)
        expect(page.locator(".jp-Dialog")).to_have_count(0)
        assert dialogs == []

        meter_texts = page.evaluate("() => window.__mlcostLiveMeterTexts")
        assert meter_texts, "the live meter never appeared during the 3 s cell"
        assert len(meter_texts) >= 2, f"the live meter was not refreshed: {meter_texts}"
        expect(page.locator(".mlcost-live-meter")).to_have_count(0)  # replaced by the summary

        bubbles = panel.locator("img.mlcost-bubbles")  # the runs have sizes: bubbles shown
        expect(bubbles).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        panel.screenshot(path=str(ARTIFACTS / "panel.png"))

        # Priced at Poland: the table says it is a what-if and the figures are redrawn.
        measured_src = figure.get_attribute("src")
        expect(table.locator(".mlcost-whatif")).to_have_count(0)
        poland = next(text for text, value in country_choices() if value == "POL")
        panel.locator(".mlcost-priced-at select").select_option(label=poland)
        marking = table.locator(".mlcost-whatif")
        expect(marking).to_have_text(
            re.compile(r"^What-if: priced at POL \(CodeCarbon global_energy_mix\.json \(20\d\d\), ")
        )
        expect(marking).to_contain_text("energy as measured")
        expect(figure).not_to_have_attribute("src", measured_src)
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(bubbles).to_be_visible()
        expect(page.get_by_text("Error displaying widget")).to_have_count(0)
        panel.screenshot(path=str(ARTIFACTS / "panel-priced-at-POL.png"))
        panel.locator(".mlcost-priced-at select").select_option(label="as measured")
        expect(table.locator(".mlcost-whatif")).to_have_count(0)
    print(f"browser test: {time.monotonic() - started:.1f} s from page load to assertions")


LIVE_CELLS = [
    "%load_ext mlcost_magic",
    "%carbon panel",
    '%%carbon "small" --metric accuracy=acc\nx = sum(range(10**5))\nacc = 0.80',
    '%%carbon "large" --metric accuracy=acc\nx = sum(range(3 * 10**6))\nacc = 0.90',
    '%%carbon "medium" --metric accuracy=acc\nx = sum(range(10**6))\nacc = 0.85',
]


def _column_values(table, header: str) -> list[float]:
    """The numbers shown in one column of the rendered table, top to bottom."""
    headers = table.locator("thead th").all_inner_texts()
    position = next(i for i, text in enumerate(headers) if text.startswith(header))
    cells = table.locator(f"tbody tr td:nth-child({position + 1})").all_inner_texts()
    assert all(cells), (headers, cells)
    return [float(text) for text in cells]


def test_panel_shown_first_updates_live_and_sorts(lab_server, lab_page):
    from browser_support import ARTIFACTS, run_all_cells, screenshot_on_failure
    from playwright.sync_api import expect

    page = lab_page
    with screenshot_on_failure(page, "live"):
        run_all_cells(page, lab_server, "live.ipynb", LIVE_CELLS)

        panel = page.locator(".mlcost-panel")
        table = panel.locator(".mlcost-table")
        # Displayed before any run: the three runs arrived through trait updates only.
        expect(table.locator("tbody tr")).to_have_count(3)
        for label in ("small", "large", "medium"):
            expect(table).to_contain_text(label)
        expect(panel.locator("img.mlcost-figure")).to_be_visible()

        panel.locator(".mlcost-sort select").select_option(label="CO2")
        expect(table.locator("thead th", has_text="▲")).to_have_count(1)
        values = _column_values(table, "CO2 (")
        assert values == sorted(values) and len(values) == 3
        panel.locator(".mlcost-ascending").click()
        expect(table.locator("thead th", has_text="▼")).to_have_count(1)
        values = _column_values(table, "CO2 (")
        assert values == sorted(values, reverse=True)
        expect(page.get_by_text("Error displaying widget")).to_have_count(0)
        expect(page.locator(".jp-Dialog")).to_have_count(0)
        ARTIFACTS.mkdir(exist_ok=True)
        panel.screenshot(path=str(ARTIFACTS / "panel-live-sorted.png"))
