"""The text of ``%carbon status``: how this session's numbers are made, from its description."""

from __future__ import annotations

from typing import Any

from ..measure.settings import country_display


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
    return "\n".join(
        [
            f"mlcost-magic {d['mlcost_version']} (CodeCarbon {d['codecarbon_version']}), "
            f"method {d['method']}",
            f"  CPU:     {cpu}",
            f"  RAM:     estimate: {d['ram_power_w_per_gb']:g} W/GB x resident GB of this "
            "process tree (Green Algorithms)",
            f"  GPU:     {gpu}",
            f"  PUE:     {d['pue']:g}",
            f"  Carbon:  {d['carbon_intensity_g_per_kwh']:g} g CO2e/kWh, {where} "
            f"({d['intensity_source']})",
            f"  Machine: {d['hostname']}, {d['cpu_model']}, {d['cpu_count']} threads",
            f"  Ledger:  {ledger}",
            f"  Session: {d['session_id']}",
        ]
    )
