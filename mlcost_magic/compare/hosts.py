"""The hardware comparison: the same label run on more than one machine.

The MLCost study found, by hand on Azure VMs, that bigger machines drew more power per second
but finished sooner. This draws that from measured runs: for every label run on at least two
hosts, per host, the mean duration, energy and mean power (energy / duration) of its ended
runs, with their spread. Nothing is assumed about any machine.
"""

from __future__ import annotations

import pandas as pd

from ..units import JOULES_PER_KWH

HOST_COLUMNS = [
    "label",
    "hostname",
    "runs",
    "cpu_model",
    "cpu_count",
    "duration_s",
    "duration_s_std",
    "energy_kwh",
    "energy_kwh_std",
    "mean_power_w",
    "mean_power_w_std",
]


def regroup(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """The runs grouped (and coloured) by another column than their label: 'user' or
    'hostname' (shared runs from MLflow carry both)."""
    if column not in rows.columns:
        raise ValueError(f"these runs have no {column!r} column (shared runs from --mlflow do)")
    regrouped = rows.copy()
    regrouped["label"] = rows[column].astype("string").fillna("?").astype(object)
    return regrouped


def host_comparison(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (label, host) for the labels with ended runs on two hosts or more."""
    done = rows[(rows["status"] == "ok").fillna(False).to_numpy(bool)].copy()
    done = done[done["duration_s"].astype(float) > 0]
    if done.empty:
        return pd.DataFrame(columns=HOST_COLUMNS)
    done["mean_power_w"] = done["energy_kwh"].astype(float) * JOULES_PER_KWH / done["duration_s"]
    hosts_per_label = done.groupby("label")["hostname"].nunique()
    shared = hosts_per_label[hosts_per_label >= 2].index
    done = done[done["label"].isin(shared)]
    if done.empty:
        return pd.DataFrame(columns=HOST_COLUMNS)
    grouped = done.groupby(["label", "hostname"], sort=True)
    table = grouped.agg(
        runs=("run_id", "size"),
        cpu_model=("cpu_model", "first"),
        cpu_count=("cpu_count", "first"),
        duration_s=("duration_s", "mean"),
        duration_s_std=("duration_s", "std"),
        energy_kwh=("energy_kwh", "mean"),
        energy_kwh_std=("energy_kwh", "std"),
        mean_power_w=("mean_power_w", "mean"),
        mean_power_w_std=("mean_power_w", "std"),
    )
    return table.reset_index()[HOST_COLUMNS]
