"""The text of ``%carbon status``: how this session's numbers are made, from its description."""

from __future__ import annotations

import html
from typing import Any

from ..measure.settings import country_display
from ..units import format_energy, format_mass


def totals_text(totals: dict[str, Any] | None) -> str:
    """'this session: 42 runs (40 cells), 1.3 Wh, 0.07 g CO2e' (runs inside runs once)."""
    if not totals:
        return "this session: no runs yet"
    runs, cells = totals["runs"], totals["cells"]
    counted = f"{runs} run{'s' if runs != 1 else ''}"
    if cells:
        counted += f" ({cells} auto-measured cell{'s' if cells != 1 else ''})"
    return (
        f"this session: {counted}, {format_energy(totals['energy_kwh'])}, "
        f"{format_mass(totals['emissions_kg'])} CO2e"
    )


def status_text(d: dict[str, Any]) -> str:
    """Method, constants, country and carbon intensity (and where each came from), machine,
    ledger and session, one line each."""
    if d["rapl"]:
        cpu = "RAPL package energy x this process tree's share of busy CPU time"
    else:
        cpu = (
            f"estimate: {d['cpu_power_w_per_thread']:g} W per busy thread x CPU-seconds of this "
            f"process tree ({d['cpu_power_source']})"
        )
        if d.get("rapl_root_only"):
            cpu += "; RAPL counters exist but are root-only here, so they are not used"
    gpu = (
        f"NVML energy counters of {d['gpu_model']} (whole GPUs)"
        if d["gpu_model"]
        else "no NVIDIA GPU visible: 0"
    )
    ledger = d["ledger_path"] + (
        " (NOT WRITABLE: runs kept in memory only)" if d["ledger_in_memory"] else ""
    )
    where = country_display(d["country_name"], d["country_iso_code"])
    static_w = d.get("static_power_w") or 0.0
    static = (
        f"{static_w:g} W (set by user) x the run's wall time, added before PUE"
        if static_w
        else "0 W: the machine's idle draw is not charged (CarbonMagics.static_power_w)"
    )
    return "\n".join(
        [
            f"mlcost-magic {d['mlcost_version']} (CodeCarbon {d['codecarbon_version']}), "
            f"method {d['method']}",
            f"  CPU:     {cpu}",
            f"  RAM:     estimate: {d['ram_power_w_per_gb']:g} W/GB x resident GB of this "
            "process tree (Green Algorithms)",
            f"  GPU:     {gpu}",
            f"  Static:  {static}",
            f"  PUE:     {d['pue']:g}",
            f"  Carbon:  {d['carbon_intensity_g_per_kwh']:g} g CO2e/kWh, {where} "
            f"({d['intensity_source']})",
            f"  Machine: {d['hostname']}, {d['cpu_model']}, {d['cpu_count']} threads",
            f"  Ledger:  {ledger}",
            f"  Session: {d['session_id']}; {totals_text(d.get('totals'))}"
            + (f"; budget: {d['budget']}" if d.get("budget") else ""),
            f"  {d['sharing']}"
            if d.get("sharing")
            else "  MLflow:  off (runs stay in the ledger; CarbonMagics.mlflow_tracking_uri)",
        ]
    )


def footer_html(description: dict) -> str:
    """One line: method, country and carbon intensity (all values escaped)."""

    def text(key: str, default: str = "?") -> str:
        value = description.get(key)
        return html.escape(default if value is None or value == "" else str(value))

    intensity = description.get("carbon_intensity_g_per_kwh")
    intensity_text = "?" if intensity is None else f"{float(intensity):.0f}"
    country = html.escape(
        country_display(description.get("country_name"), description.get("country_iso_code"))
    )
    parts = [
        f"method: {text('method')}",
        country,
        f"{intensity_text} gCO2/kWh ({text('intensity_source')})",
        f"PUE {text('pue')}",
    ]
    if "totals" in description:
        parts.append(html.escape(totals_text(description["totals"])))
    if description.get("budget"):
        parts.append(html.escape(f"budget: {description['budget']}"))
    style = "font-size:11px;color:#666"
    return f'<div class="mlcost-footer-line" style="{style}">{" · ".join(parts)}</div>'
