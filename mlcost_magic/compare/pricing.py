"""Priced at another location: the same runs, their CO2 recomputed at another grid.

``reprice(rows, "POL")`` returns ledger rows as if measured in Poland: the energy as measured,
``emissions_kg`` at Poland's intensity from CodeCarbon's files (``compare.whatif``'s locations
and arithmetic), the intensity columns naming the location and its source. The rows then go
through the ordinary ``compare(rows, priced_at=...)``, so the table, the four-panel figure and
the bubble chart all show the same re-priced figures, each marked with the location's caption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..measure import codecarbon_data
from .whatif import Location, co2_kg, resolve_location

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["country_choices", "reprice"]


def reprice(rows: pd.DataFrame, location: Location | str) -> pd.DataFrame:
    """``rows`` (a ledger frame) as if measured at ``location`` (a Location or its name):
    ``energy_kwh`` unchanged, ``emissions_kg`` = :func:`compare.whatif.co2_kg` there, and
    ``carbon_intensity_g_per_kwh``, ``country_iso_code``, ``country_name`` and
    ``intensity_source`` the location's. Raises ValueError for an unknown location."""
    import numpy as np

    if not isinstance(location, Location):
        location = resolve_location(location)
    priced = rows.copy()
    energy_kwh = _floats(priced, "energy_kwh", np.nan)
    run_pue = _floats(priced, "pue", 1.0)
    run_pue = np.where(np.isfinite(run_pue) & (run_pue > 0), run_pue, 1.0)
    priced["emissions_kg"] = co2_kg(energy_kwh, run_pue, location)
    priced["carbon_intensity_g_per_kwh"] = location.g_per_kwh
    priced["country_iso_code"] = location.code
    priced["country_name"] = location.place
    priced["intensity_source"] = location.source
    return priced


def country_choices() -> list[tuple[str, str]]:
    """(text, location name) for a chooser: the world average, then every country of
    CodeCarbon's data by ISO-3 code, e.g. ('POL · Poland · 662 g/kWh', 'POL')."""
    world = resolve_location("world")
    choices = [(f"world average · {world.g_per_kwh:g} g/kWh", "world")]
    for code, record in sorted(codecarbon_data.global_energy_mix().items()):
        name = record.get("country_name", code)
        choices.append((f"{code} · {name} · {float(record['carbon_intensity']):g} g/kWh", code))
    return choices


def _floats(rows: pd.DataFrame, column: str, missing: float):
    import numpy as np
    import pandas as pd

    if column not in rows.columns:
        return np.full(len(rows), missing)
    return pd.to_numeric(rows[column], errors="coerce").to_numpy(float, na_value=np.nan)
