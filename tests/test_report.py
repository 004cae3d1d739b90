"""The self-contained HTML report: content, escaping, embedded figure, empty ledger."""

from __future__ import annotations

import base64
import datetime as dt
import html
import re

from ledger_frames import DESCRIPTION as BASE_DESCRIPTION
from ledger_frames import XSS_LABEL, make_frame, random_frame

from mlcost_magic.compare.comparison import compare
from mlcost_magic.views import report

DESCRIPTION = {**BASE_DESCRIPTION, "ledger_path": "/data/<ledger>.sqlite"}  # must be escaped


def test_report_is_self_contained_with_table_figure_method_and_machine(tmp_path):
    frame = random_frame(12, n_labels=4)
    frame["gpu_model"] = "Fake GPU 9000"
    path = report.write_report(compare(frame), tmp_path / "sub" / "report.html", DESCRIPTION)
    assert path == tmp_path / "sub" / "report.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # No external resources: every src is inline data.
    sources = re.findall(r'src="([^"]*)"', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    png = base64.b64decode(sources[0].split(",", 1)[1])
    assert png.startswith(b"\x89PNG")
    assert "<link" not in text and "<script" not in text
    for label in frame["label"].unique():
        assert label in text
    for fact in ("estimate:tdp-4W/thread", "France", "56.0", "codecarbon:global_energy_mix"):
        assert fact in text
    for machine in ("testhost", "Test CPU @ 2GHz", "Fake GPU 9000"):
        assert machine in text
    assert "&lt;ledger&gt;" in text and "<ledger>" not in text
    assert f"{len(frame)} runs" in text


def test_report_escapes_every_label_and_metric_name(tmp_path):
    frame = make_frame(
        [
            {"label": XSS_LABEL, "emissions_kg": 1e-6, "<b>m</b>": 0.5, "hostname": "<h>"},
            {"label": "ok", "emissions_kg": 2e-6, "<b>m</b>": 0.6},
        ],
        metrics=["<b>m</b>"],
    )
    text = report.write_report(compare(frame), tmp_path / "r.html", DESCRIPTION).read_text()
    assert "<img src=x" not in text and html.escape(XSS_LABEL) in text
    assert "<b>m</b>" not in text and "&lt;b&gt;m&lt;/b&gt;" in text
    assert "<h>" not in text


def test_report_generation_date_and_empty_ledger(tmp_path):
    when = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    text = report.report_html(compare(make_frame([])), {}, generated_at=when)
    assert "2025-03-04T05:06:07+00:00" in text
    assert "No runs recorded yet" in text and "0 runs" in text
    assert "data:image/png;base64," in text


def test_report_mentions_frame_constants_when_description_differs(tmp_path):
    frame = make_frame([{"label": "a", "emissions_kg": 1e-6}])
    text = report.report_html(compare(frame), {**DESCRIPTION, "carbon_intensity_g_per_kwh": 300.0})
    assert "56.0 (session now: 300.0)" in text
