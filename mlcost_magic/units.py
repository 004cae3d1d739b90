"""Readable units for energy, CO2 and time: one scale per figure, three significant digits."""

from __future__ import annotations

import math

JOULES_PER_KWH = 3.6e6
BYTES_PER_GB = 1e9

# (factor relative to the base unit, suffix), smallest first.
ENERGY_SCALES_WH = ((1e-6, "µWh"), (1e-3, "mWh"), (1.0, "Wh"), (1e3, "kWh"), (1e6, "MWh"))
MASS_SCALES_G = ((1e-6, "µg"), (1e-3, "mg"), (1.0, "g"), (1e3, "kg"), (1e6, "t"))
DURATION_SCALES_S = ((1e-3, "ms"), (1.0, "s"), (60.0, "min"), (3600.0, "h"))


def choose_scale(value: float, scales: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    """The largest scale that keeps |value| >= 1 (the smallest scale for zero or tiny values)."""
    magnitude = abs(value) if value is not None and math.isfinite(value) else 0.0
    chosen = scales[0]
    for factor, suffix in scales:
        if magnitude >= factor:
            chosen = (factor, suffix)
    return chosen


def format_number(value: float) -> str:
    """Three significant digits, no exponent for the ranges we show."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{digits}f}"


def energy_scale(kwh: float) -> tuple[float, str]:
    """(factor in kWh, suffix) for an energy given in kWh."""
    factor_wh, suffix = choose_scale(kwh * 1e3, ENERGY_SCALES_WH)
    return factor_wh / 1e3, suffix


def mass_scale(kg: float) -> tuple[float, str]:
    """(factor in kg, suffix) for a mass given in kg."""
    factor_g, suffix = choose_scale(kg * 1e3, MASS_SCALES_G)
    return factor_g / 1e3, suffix


def duration_scale(seconds: float) -> tuple[float, str]:
    """(factor in s, suffix) for a duration given in seconds."""
    return choose_scale(seconds, DURATION_SCALES_S)


def scale_for(kind: str, typical: float) -> tuple[float, str]:
    """(factor, suffix) for a column of ``kind`` ('mass_kg', 'energy_kwh', 'duration_s') whose
    typical magnitude is ``typical``; (1, '') for anything else."""
    if kind == "mass_kg":
        return mass_scale(typical)
    if kind == "energy_kwh":
        return energy_scale(typical)
    if kind == "duration_s":
        return duration_scale(typical) if typical else (1.0, "s")
    return 1.0, ""


# Units a budget may be given in: suffix -> (what it limits, factor to kg CO2e or kWh).
BUDGET_UNITS = {
    "ug": ("emissions_kg", 1e-9),
    "µg": ("emissions_kg", 1e-9),
    "mg": ("emissions_kg", 1e-6),
    "g": ("emissions_kg", 1e-3),
    "kg": ("emissions_kg", 1.0),
    "mwh": ("energy_kwh", 1e-6),
    "wh": ("energy_kwh", 1e-3),
    "kwh": ("energy_kwh", 1.0),
}


def parse_budget(text: str) -> tuple[str, float]:
    """'5g' -> ('emissions_kg', 0.005); '10Wh' -> ('energy_kwh', 0.01). ValueError otherwise."""
    raw = text.strip().replace(" ", "")
    lowered = raw.lower().removesuffix("co2e").removesuffix("co2")
    for suffix in sorted(BUDGET_UNITS, key=len, reverse=True):
        if lowered.endswith(suffix):
            number = lowered[: -len(suffix)]
            try:
                value = float(number)
            except ValueError:
                break
            if math.isfinite(value) and value > 0:
                kind, factor = BUDGET_UNITS[suffix]
                return kind, value * factor
            break
    raise ValueError(
        f"a budget looks like 5g, 500mg, 2kg (CO2e) or 10Wh, 1kWh (energy), got {text!r}"
    )


def format_energy(kwh: float) -> str:
    factor, suffix = energy_scale(kwh)
    return f"{format_number(kwh / factor)} {suffix}"


def format_mass(kg: float) -> str:
    factor, suffix = mass_scale(kg)
    return f"{format_number(kg / factor)} {suffix}"


def format_duration(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds < 0.01:
        return f"{seconds * 1e3:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {secs:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"
