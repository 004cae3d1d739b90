"""User settings and where each came from: explicit value > MLCOST_* variable > CodeCarbon's
own configuration > default. Every resolved figure keeps its provenance for the summary line."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..errors import SettingsError
from . import codecarbon_data

# Green Algorithms (Lannelongue et al. 2021): 0.3725 W per GB of memory.
DEFAULT_RAM_POWER_W_PER_GB = 0.3725
DEFAULT_PUE = 1.0
HOW_TO_SET_COUNTRY = "set MLCOST_COUNTRY or %config CarbonMagics.country_iso_code"


@dataclass(frozen=True)
class Settings:
    """What the user asked for; None means not set here (fall through to the next layer)."""

    country_iso_code: str | None = None
    carbon_intensity_g_per_kwh: float | None = None
    ledger_path: str | os.PathLike | None = None
    pue: float | None = None
    cpu_power_w_per_thread: float | None = None
    ram_power_w_per_gb: float | None = None
    static_power_w: float | None = None
    mlflow_tracking_uri: str | None = None  # share runs with an MLflow server (share.target)
    mlflow_experiment: str | None = None


@dataclass(frozen=True)
class CarbonIntensity:
    g_per_kwh: float
    country_iso_code: str | None
    country_name: str | None
    source: str  # where the figure and the country came from

    @property
    def label(self) -> str:
        return intensity_label(self.country_iso_code, self.source)


def intensity_label(country_iso_code: str | None, source: str | None) -> str:
    """Short form for the summary line: 'FRA', 'set by user' or 'world average: set ...'.

    A pure function of what a run recorded, so a run prints the label it was measured under."""
    if country_iso_code:
        return country_iso_code
    if source and source.startswith("set by"):
        return source
    return f"world average: {HOW_TO_SET_COUNTRY}"


def country_display(country_name: str | None, country_iso_code: str | None) -> str:
    """'France (FRA)', or 'world average' when no country was set."""
    if country_iso_code:
        return f"{country_name or country_iso_code} ({country_iso_code})"
    return "world average"


def _env_float(name: str) -> float | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def positive(value: float | None, what: str, minimum: float = 0.0) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value) or value < minimum:
        raise SettingsError(f"{what} must be a finite number >= {minimum:g}, got {value!r}")
    return value


def resolve_intensity(settings: Settings) -> CarbonIntensity:
    explicit_g = positive(settings.carbon_intensity_g_per_kwh, "carbon_intensity_g_per_kwh")
    if explicit_g is None:
        explicit_g = positive(_env_float("MLCOST_CARBON_INTENSITY"), "MLCOST_CARBON_INTENSITY")
        if explicit_g is not None:
            return CarbonIntensity(explicit_g, None, None, "set by MLCOST_CARBON_INTENSITY")
    else:
        return CarbonIntensity(explicit_g, None, None, "set by user")

    if settings.country_iso_code:
        code, source = settings.country_iso_code, "set by user"
    elif os.environ.get("MLCOST_COUNTRY", "").strip():
        code, source = os.environ["MLCOST_COUNTRY"], "from MLCOST_COUNTRY"
    else:
        code, source = codecarbon_data.codecarbon_country_setting()
        source = f"from CodeCarbon's setting {source}"
    if not code:
        world_g = codecarbon_data.world_average_g_per_kwh()
        return CarbonIntensity(
            world_g, None, None, "no country set: CodeCarbon's world average (IEA)"
        )
    return country_intensity(code, source)


def country_intensity(code: str, source: str) -> CarbonIntensity:
    code = code.strip().upper()
    mix = codecarbon_data.global_energy_mix()
    if code not in mix:
        raise SettingsError(
            f"unknown country ISO code {code!r} ({source}): use a 3-letter code from "
            f"CodeCarbon's data, e.g. FRA, DEU, GBR, USA"
        )
    record = mix[code]
    return CarbonIntensity(
        float(record["carbon_intensity"]),
        code,
        record.get("country_name", code),
        f"{codecarbon_data.energy_mix_source(code)}; country {source}",
    )


def resolve_pue(settings: Settings) -> float:
    value = settings.pue if settings.pue is not None else _env_float("MLCOST_PUE")
    return positive(value, "PUE", minimum=1.0) or DEFAULT_PUE


def resolve_ram_power(settings: Settings) -> float:
    value = positive(settings.ram_power_w_per_gb, "ram_power_w_per_gb")
    return DEFAULT_RAM_POWER_W_PER_GB if value is None else value


def resolve_static_power(settings: Settings) -> float:
    """Watts charged for a run's wall time (the machine's idle draw); 0 unless set."""
    value = settings.static_power_w
    if value is None:
        value = _env_float("MLCOST_STATIC_POWER_W")
    value = positive(value, "static_power_w")
    return 0.0 if value is None else value


def resolve_cpu_power_override(settings: Settings) -> float | None:
    value = settings.cpu_power_w_per_thread
    if value is None:
        value = _env_float("MLCOST_CPU_POWER_W_PER_THREAD")
    return positive(value, "cpu_power_w_per_thread")
