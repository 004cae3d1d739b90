"""A self-contained HTML report of the runs: table, figure (inline PNG), method and machine.

One file, no external resources, so it can be mailed or attached to a paper's supplement. All
text coming from the ledger (labels, tags, metric names, host names) is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path
from typing import Any

import pandas as pd

from .. import units
from ..compare.comparison import Comparison
from . import figure, table

__all__ = ["report_html", "write_report"]

REPORT_DPI = 100

# (description key or frame column, what it means), shown in "Method and assumptions".
ASSUMPTIONS = (
    ("method", "measurement method"),
    ("country_name", "country"),
    ("country_iso_code", "country code"),
    ("carbon_intensity_g_per_kwh", "carbon intensity (gCO2/kWh)"),
    ("intensity_source", "carbon intensity source"),
    ("pue", "power usage effectiveness (PUE)"),
    ("cpu_power_w_per_thread", "CPU power per thread (W)"),
    ("ram_power_w_per_gb", "RAM power per GB (W)"),
    ("static_power_w", "static power charged for wall time (W)"),
    ("cpu_model", "CPU model"),
    ("ledger_path", "ledger"),
    ("session_id", "session"),
)
MACHINE_COLUMNS = (
    ("hostname", "host"),
    ("cpu_model", "CPU model"),
    ("cpu_count", "CPU threads"),
    ("gpu_model", "GPU model"),
)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;
  color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
dl.mlcost-facts{display:grid;grid-template-columns:max-content auto;gap:2px 16px}
dl.mlcost-facts dt{color:#555}dl.mlcost-facts dd{margin:0}
img.mlcost-figure{max-width:100%;height:auto}
.mlcost-table-wrap{max-height:none!important}
footer{margin-top:2em;color:#777;font-size:0.85em}
"""


def _distinct(frame: pd.DataFrame, column: str) -> str:
    """The column's distinct non-empty values, joined ('' if the column is absent)."""
    if column not in frame.columns:
        return ""
    values = [v for v in frame[column].dropna().unique().tolist() if str(v) != ""]
    return ", ".join(str(v) for v in values)


def _facts(rows: list[tuple[str, str]]) -> str:
    items = "".join(
        f"<dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd>" for name, value in rows
    )
    return f'<dl class="mlcost-facts">{items}</dl>'


def _assumptions(frame: pd.DataFrame, description: dict) -> list[tuple[str, str]]:
    rows = []
    for key, meaning in ASSUMPTIONS:
        from_frame = _distinct(frame, key)
        value = description.get(key)
        text = from_frame or ("" if value is None else str(value))
        if from_frame and value is not None and str(value) not in from_frame.split(", "):
            text = f"{from_frame} (session now: {value})"
        if text:
            rows.append((meaning, text))
    return rows


def report_html(
    comparison: Comparison,
    description: dict[str, Any],
    generated_at: dt.datetime | None = None,
) -> str:
    """The report as an HTML string (see :func:`write_report`)."""
    frame, metric = comparison.frame, comparison.metric
    generated_at = generated_at or dt.datetime.now(dt.timezone.utc)
    drawn = figure.plot_tradeoffs(comparison)
    png = base64.b64encode(figure.figure_to_png_bytes(drawn, REPORT_DPI)).decode("ascii")
    runs_table = table.html_table(comparison)
    machine = [(meaning, _distinct(frame, column)) for column, meaning in MACHINE_COLUMNS]
    machine = [(meaning, value) for meaning, value in machine if value]
    notes = [
        "Energy = (CPU + RAM + GPU) x PUE. CPU: the CPU-seconds of the measured process and its "
        "children x watts per busy thread (from CodeCarbon's TDP table, or its 4 W default for "
        "CPUs it does not know), or RAPL counters where readable. RAM: watts per GB x resident "
        "GB (Green Algorithms). GPU: NVML energy counters. CO2 = energy x carbon intensity.",
        "Every figure is an estimate: use it to compare runs on one machine. Published "
        "comparisons find CodeCarbon-style estimates up to 40 % off a wall-power meter.",
        "CO2 per metric point is CodeCarbon's 'CO2 per accuracy point' (CO2 / metric); "
        "metric per g CO2 is mlflow-emissions-sdk's accuracy per emission (metric / g CO2).",
        "For lower-is-better metrics (rmse, loss, ...) 1/metric is used, so lower CO2 per point "
        "is always better. The star marks the best trade-off: the lowest CO2 per metric point.",
    ]
    total_kg = pd.to_numeric(frame.get("emissions_kg"), errors="coerce").sum() if len(frame) else 0
    total_kwh = pd.to_numeric(frame.get("energy_kwh"), errors="coerce").sum() if len(frame) else 0
    summary = (
        f"{len(frame)} runs, {units.format_energy(float(total_kwh))}, "
        f"{units.format_mass(float(total_kg))} CO2"
    )
    title = "mlcost-magic report"
    alt = f"Trade-off figure: CO2 per run, {metric or 'quality'} vs CO2, run time vs CO2"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="mlcost-summary">{html.escape(summary)}</p>
<h2>Runs</h2>
{runs_table}
<h2>Trade-offs</h2>
<img class="mlcost-figure" alt="{html.escape(alt)}" src="data:image/png;base64,{png}">
<h2>Method and assumptions</h2>
{_facts(_assumptions(frame, description))}
<ul>{"".join(f"<li>{html.escape(n)}</li>" for n in notes)}</ul>
<h2>Machine</h2>
{_facts(machine) if machine else "<p>No runs, no machine recorded.</p>"}
<footer>Generated {html.escape(generated_at.isoformat(timespec="seconds"))} by mlcost-magic,
built on CodeCarbon.</footer>
</body></html>
"""


def write_report(comparison: Comparison, path: str | Path, description: dict[str, Any]) -> Path:
    """Write the self-contained HTML report to ``path`` (parents created); return the path.

    A path that cannot be written raises ValueError with one line that says why."""
    path = Path(path).expanduser()
    text = report_html(comparison, description)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:  # a name too long, a read-only folder, a full disk
        raise ValueError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    return path
