"""The comparison table as HTML (panel, report) and as plain text (terminal): pure functions.

Each physical column gets one readable unit chosen for its data (mWh / Wh / kWh, mg / g / kg,
s / min / h), shown once in the header; every label, tag and metric name is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..compare import tradeoffs
from ..compare.comparison import Comparison
from ..measure.meter import basis_text
from ..units import format_number, scale_for

__all__ = [
    "Column",
    "basis_line",
    "html_table",
    "sort_frame",
    "table_columns",
    "text_table",
]

STATUS_MARKS = {
    "ok": "✓ ok",
    "running": "… running",
    "error": "✗ error",
    "interrupted": "■ interrupted",
    "lost": "? lost",
    "capped": "⏹ capped",
}
EMPTY_HTML = (
    '<div class="mlcost-empty">No runs recorded yet: run a <code>%%carbon</code> cell.</div>'
)
FAILED_STATUSES = frozenset({"error", "interrupted", "lost", "capped"})
TEXT_KINDS = ("text", "status")


@dataclass(frozen=True)
class Column:
    """One table column: the frame column, its header text and how to show its values."""

    name: str
    header: str
    kind: str  # 'text', 'status', 'count', 'mass_kg', 'energy_kwh', 'duration_s', 'number'
    description: str = ""


def _finite(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def table_columns(comparison: Comparison) -> list[Column]:
    """Columns worth showing for this comparison, in display order (empty derived ones
    dropped)."""
    frame = comparison.table_rows
    columns = [
        Column("label", "label", "text"),
        Column("status", "status", "status"),
        Column("n", "n", "count", "repeats in the group (mean of n runs on this row)"),
        Column("duration_s", "duration", "duration_s", "wall-clock time of the run"),
        Column("energy_kwh", "energy", "energy_kwh", "CPU + RAM + GPU + static, PUE included"),
        Column("static_energy_kwh", "static energy", "energy_kwh", "static W x wall time"),
        Column("emissions_kg", "CO2", "mass_kg", "CO2-equivalent emissions"),
        Column("emissions_kg_sd", "CO2 sd", "mass_kg", "standard deviation over the repeats"),
        Column("quality", "quality", "text", "how far to trust the row (README: quality)"),
        Column("model_size", "model size", "count", "numbers the model stores (model_size)"),
    ]
    columns += [Column(m, m, "number", "metric logged by the run") for m in comparison.metrics]
    if comparison.metric is not None:
        quality = comparison.quality
        columns += [
            Column(
                comparison.per_point_column,
                f"CO2 per {quality} point",
                "mass_kg",
                f"CO2 / {quality}: CodeCarbon's 'CO2 per accuracy point', lower is better",
            ),
            Column(
                comparison.per_gram_column,
                f"{quality} per g CO2",
                "number",
                f"{quality} / grams of CO2 (mlflow-emissions-sdk), higher is better",
            ),
        ]
    columns += [
        Column("energy_kwh_per_1k_inferences", "energy per 1k inferences", "energy_kwh"),
        Column("emissions_kg_per_1k_inferences", "CO2 per 1k inferences", "mass_kg"),
    ]
    shown = []
    for column in columns:
        if column.name not in frame.columns:
            continue
        if tradeoffs.is_derived_column(column.name) and len(_finite(frame, column.name)) == 0:
            continue
        if column.name in OPTIONAL_COLUMNS and not OPTIONAL_COLUMNS[column.name](frame):
            continue
        shown.append(column)
    return shown


# Shown only when they say something: repeats exist, a quality other than the default.
OPTIONAL_COLUMNS = {
    "n": lambda frame: bool((frame["n"] > 1).any()),
    "emissions_kg_sd": lambda frame: len(_finite(frame, "emissions_kg_sd")) > 0,
    "static_energy_kwh": lambda frame: bool((_finite(frame, "static_energy_kwh") > 0).any()),
    "model_size": lambda frame: len(_finite(frame, "model_size")) > 0,
    "quality": lambda frame: bool(frame["quality"].isin(["short", "busy machine", "noisy"]).any()),
}


def _scale(frame: pd.DataFrame, column: Column) -> tuple[float, str]:
    """(factor in the column's base unit, suffix) chosen from the column's median magnitude."""
    if column.kind not in ("mass_kg", "energy_kwh", "duration_s"):
        return 1.0, ""
    values = np.abs(_finite(frame, column.name))
    values = values[values > 0]
    typical = float(np.median(values)) if len(values) else 0.0
    return scale_for(column.kind, typical)


def _cells(frame: pd.DataFrame, column: Column) -> tuple[str, list[str]]:
    """(header with unit, formatted values) for one column."""
    factor, suffix = _scale(frame, column)
    header = f"{column.header} ({suffix})" if suffix else column.header
    if column.kind == "text":
        return header, ["" if pd.isna(v) else str(v) for v in frame[column.name]]
    if column.kind == "status":
        return header, [STATUS_MARKS.get(str(v), str(v)) for v in frame[column.name]]
    if column.kind == "count":
        counts = pd.to_numeric(frame[column.name], errors="coerce")
        return header, ["" if pd.isna(v) else f"{int(v):,}" for v in counts]
    values = pd.to_numeric(frame[column.name], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    return header, [_number(v / factor) for v in values]


def _number(value: float) -> str:
    """Three significant digits; thousands separated above 10,000 (no exponents)."""
    if not math.isfinite(value):
        return ""
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return format_number(value)


def sort_frame(frame: pd.DataFrame, column: str | None, ascending: bool = True) -> pd.DataFrame:
    """Frame sorted by a column's raw values (missing values last); unknown column: unchanged."""
    if not column or column not in frame.columns or frame.empty:
        return frame
    key = None
    if frame[column].dtype == object or column in ("label", "status"):
        key = lambda series: series.astype("string").str.lower()  # noqa: E731
    return frame.sort_values(
        column, ascending=ascending, na_position="last", kind="stable", key=key
    )


_TABLE_CSS = """
<style>
.mlcost-table-wrap{max-height:420px;overflow:auto}
.mlcost-table-grid{border-collapse:collapse;font-size:12px;
  font-family:var(--jp-ui-font-family,sans-serif)}
.mlcost-table-grid th,.mlcost-table-grid td{padding:2px 8px;border-bottom:1px solid #ddd;
  white-space:nowrap}
.mlcost-table-grid th{position:sticky;top:0;background:var(--jp-layout-color1,#fff);text-align:left}
.mlcost-table-grid td.mlcost-num{text-align:right;font-variant-numeric:tabular-nums}
.mlcost-table-grid tr.mlcost-failed td{background:#fde8e8;color:#8a1c1c}
.mlcost-table-grid tr.mlcost-running td{color:#777;font-style:italic}
.mlcost-table-grid tr.mlcost-best td{font-weight:bold}
.mlcost-whatif{font-weight:bold;color:#b35806;margin:2px 0 4px}
</style>
"""


def html_table(comparison: Comparison, sort_by: str | None = None, ascending: bool = True) -> str:
    """The comparison table as an HTML fragment (CSS classes prefixed ``mlcost-``), all escaped;
    a re-priced comparison is captioned as a what-if (``mlcost-whatif``).

    Failed, interrupted and lost runs get the row class ``mlcost-failed``; the best trade-off
    gets ``mlcost-best`` and a star.
    """
    frame, best_index = comparison.table_rows, comparison.table_best
    if frame.empty:
        return EMPTY_HTML
    frame = sort_frame(frame, sort_by, ascending)
    columns = table_columns(comparison)
    header_cells, value_columns = [], []
    for column in columns:
        header, values = _cells(frame, column)
        arrow = ""
        if column.name == sort_by:
            arrow = " ▲" if ascending else " ▼"
        title = f' title="{html.escape(column.description)}"' if column.description else ""
        header_cells.append(
            f'<th data-column="{html.escape(column.name)}"{title}>{html.escape(header)}{arrow}</th>'
        )
        value_columns.append(values)
    statuses = frame["status"].astype("string").fillna("") if "status" in frame else None
    rows = []
    for position, index in enumerate(frame.index):
        classes = ["mlcost-row"]
        status = statuses.iloc[position] if statuses is not None else ""
        classes.append(f"mlcost-status-{html.escape(status)}")
        if status in FAILED_STATUSES:
            classes.append("mlcost-failed")
        elif status == "running":
            classes.append("mlcost-running")
        is_best = best_index is not None and index == best_index
        if is_best:
            classes.append("mlcost-best")
        cells = []
        for column, values in zip(columns, value_columns, strict=True):
            text = html.escape(values[position])
            if column.name == "label" and is_best:
                text = f'<span title="best trade-off">★</span> {text}'
            if column.name == "status" and status == "error" and "error" in frame:
                error = frame["error"].iloc[position]
                if isinstance(error, str) and error:
                    text = f'<span title="{html.escape(error)}">{text}</span>'
            css = ' class="mlcost-num"' if column.kind not in TEXT_KINDS else ""
            cells.append(f"<td{css}>{text}</td>")
        rows.append(f'<tr class="{" ".join(classes)}">{"".join(cells)}</tr>')
    caption = ""
    if comparison.what_if:
        caption = f'<div class="mlcost-whatif">{html.escape(comparison.what_if)}</div>'
    return (
        f'{_TABLE_CSS}{caption}<div class="mlcost-table-wrap"><table class="mlcost-table-grid">'
        f"<thead><tr>{''.join(header_cells)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _distinct(frame: pd.DataFrame, column: str) -> list:
    if column not in frame.columns:
        return []
    return list(dict.fromkeys(v for v in frame[column].tolist() if v is not None and v == v))


def basis_line(frame: pd.DataFrame) -> str:
    """How the figures in `frame` were obtained, in one line: method, constants, intensity."""
    if frame.empty:
        return ""
    distinct_methods = _distinct(frame, "method")
    methods = ", ".join(map(str, distinct_methods)) or "unknown method"
    ram = ", ".join(f"{w:g}" for w in _distinct(frame, "ram_power_w_per_gb"))
    grids = []
    pairs = zip(frame.get("country_iso_code", []), frame.get("carbon_intensity_g_per_kwh", []),
                strict=False)  # fmt: skip
    for code, g_per_kwh in dict.fromkeys(pairs):
        where = code if isinstance(code, str) and code else "world average"
        grids.append(f"{format_number(g_per_kwh)} g CO2e/kWh ({where})")
    pue = ", ".join(f"{p:g}" for p in _distinct(frame, "pue"))
    static = ", ".join(f"{w:g}" for w in _distinct(frame, "static_power_w") if w)
    if static:
        pue += f"; static {static} W"
    basis = basis_text(distinct_methods)
    return (
        f"{basis[0].upper()}{basis[1:]}: {methods}; RAM {ram or '?'} W/GB; "
        f"{'; '.join(grids) or '?'}; "
        f"PUE {pue or '?'} (CodeCarbon data; see %carbon status)"
    )


def text_table(comparison: Comparison, sort_by: str | None = None, ascending: bool = True) -> str:
    """The comparison table as aligned plain text, for terminals and text/plain outputs."""
    frame = comparison.table_rows
    if frame.empty:
        return "No runs recorded yet: run a %%carbon cell."
    basis = basis_line(frame)
    frame = sort_frame(frame, sort_by, ascending)
    columns = table_columns(comparison)
    table = [_cells(frame, column) for column in columns]
    widths = [max(len(header), *(len(v) for v in values)) for header, values in table]
    lines = [
        "  ".join(header.ljust(width) for (header, _), width in zip(table, widths, strict=True))
    ]
    lines.append("  ".join("-" * width for width in widths))
    for position in range(len(frame)):
        cells = []
        for column, (_, values), width in zip(columns, table, widths, strict=True):
            value = values[position]
            numeric = column.kind not in TEXT_KINDS
            cells.append(value.rjust(width) if numeric else value.ljust(width))
        lines.append("  ".join(cells).rstrip())
    lines.append(basis)
    if comparison.what_if:
        lines.insert(0, comparison.what_if)
    return "\n".join(lines)
