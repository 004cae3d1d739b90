"""Read CodeCarbon's bundled data files and defaults without starting any tracker.

CodeCarbon ships its offline data (per-country carbon intensity, the CPU TDP table) as package
files. We read them directly: no network, no tracker object, no pandas import on the hot path.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
from pathlib import Path

ENERGY_MIX_FILE = "global_energy_mix.json"
WORLD_AVERAGE_FILE = "carbon_intensity_per_source.json"
CLOUD_IMPACT_FILE = "cloud/impact.csv"


@functools.lru_cache(maxsize=1)
def package_dir() -> Path:
    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("codecarbon is not installed: pip install codecarbon")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=1)
def codecarbon_version() -> str:
    from importlib.metadata import version

    return version("codecarbon")


@functools.lru_cache(maxsize=1)
def global_energy_mix() -> dict:
    """ISO-3 country code -> CodeCarbon's energy-mix record (carbon_intensity in g CO2e/kWh)."""
    path = package_dir() / "data" / "private_infra" / ENERGY_MIX_FILE
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _intensity_per_source() -> dict:
    path = package_dir() / "data" / "private_infra" / WORLD_AVERAGE_FILE
    return json.loads(path.read_text(encoding="utf-8"))


def world_average_g_per_kwh() -> float:
    return float(_intensity_per_source()["world_average"])


@functools.lru_cache(maxsize=1)
def cpu_tdp_table() -> dict[str, str]:
    """CPU model -> TDP in watts, as written in CodeCarbon's cpu_power.csv (a few are malformed)."""
    path = package_dir() / "data" / "hardware" / "cpu_power.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["Name"]: row["TDP"] for row in csv.DictReader(handle)}


def cpu_tdp_w(matched_name: str) -> float | None:
    try:
        return float(cpu_tdp_table()[matched_name])
    except (KeyError, ValueError):
        return None


def match_cpu_model(model: str) -> str | None:
    """CodeCarbon's own fuzzy matching of a CPU brand string against its TDP table.

    Returns None when no row matches, or when several match equally well (CodeCarbon's rule).
    """
    from codecarbon.core.cpu import TDP

    table = cpu_tdp_table()
    # _get_matching_cpu only reads cpu_df["Name"]; a dict of one list serves as that table.
    return TDP._get_matching_cpu(None, model, {"Name": list(table)})


def default_power_w_per_thread() -> float:
    """CodeCarbon's power per thread for CPUs missing from its table (4 W in 3.x)."""
    from codecarbon.core.cpu import DEFAULT_POWER_PER_CORE

    return float(DEFAULT_POWER_PER_CORE)


def codecarbon_country_setting() -> tuple[str | None, str | None]:
    """(country_iso_code, where it was set) from CodeCarbon's config files and env variables."""
    from codecarbon.core.config import get_hierarchical_config_with_sources

    config, sources = get_hierarchical_config_with_sources()
    code = config.get("country_iso_code")
    if not code:
        return None, None
    return code.strip().upper(), sources.get("country_iso_code")


def energy_mix_year(code: str) -> int | None:
    """The year of a country's record in global_energy_mix.json (records differ: 2009-2023)."""
    year = global_energy_mix().get(code, {}).get("year")
    return int(year) if isinstance(year, (int, float)) else None


def energy_mix_source(code: str) -> str:
    """How a country's figure is cited: 'CodeCarbon global_energy_mix.json (2023)'."""
    return f"CodeCarbon {ENERGY_MIX_FILE} ({energy_mix_year(code) or 'year not stated'})"


def world_average_source() -> str:
    """Where CodeCarbon says its world average comes from (a URL naming the IEA report)."""
    return str(_intensity_per_source().get("world_average_source", ""))


@functools.lru_cache(maxsize=1)
def cloud_impact() -> dict[tuple[str, str], dict[str, str]]:
    """(provider, region) -> CodeCarbon's cloud/impact.csv row, every value a stripped string.

    Columns (CodeCarbon 3.x): provider, providerName, offsetRatio, region, regionName,
    country_name, countryIsoCode, state, city, impact (g CO2e/kWh; empty when a region is only
    known by its country), source, comment. The file has no year and no PUE column; a ``pue``
    column, should a later release add one, is passed through. Providers and regions are keyed
    in lower case.
    """
    path = package_dir() / "data" / CLOUD_IMPACT_FILE
    with path.open(encoding="utf-8-sig", newline="") as handle:  # the file starts with a BOM
        rows = [
            {key.strip(): (value or "").strip() for key, value in row.items() if key}
            for row in csv.DictReader(handle)
        ]
    return {
        (row.get("provider", "").lower(), row.get("region", "").lower()): row
        for row in rows
        if row.get("provider") and row.get("region")
    }
