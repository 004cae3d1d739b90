"""Region what-if: the CO2 of the same runs under other grids (pure rows in, frame out).

A what-if changes the carbon intensity, never the energy: every location column is
``energy_kwh x g CO2e/kWh of the location / 1000`` in kg, like the ledger's ``emissions_kg``.
Every figure comes from CodeCarbon's bundled files, offline:

* ``DEU`` (an ISO-3 code, any case, or a country name as the file spells it): the record's
  ``carbon_intensity`` in ``global_energy_mix.json``; the source names the record's year.
* ``world``: CodeCarbon's world average (``carbon_intensity_per_source.json``; the year is the
  one its ``world_average_source`` names).
* ``gcp:europe-west1`` (``PROVIDER:REGION`` of ``cloud/impact.csv``): the row's ``impact``.
  The file states no year, and the source says so. A region without an ``impact`` figure is
  only known by its country: the country's figure from ``global_energy_mix.json``, said so.

PUE: the ledger's ``energy_kwh`` already includes the PUE the run was measured with (its
``pue`` column, 1.0 unless set). CodeCarbon's files carry no PUE today; a location that does
carry one replaces the run's: ``energy_kwh / run pue x location pue x g/kWh / 1000``, and its
source line says so. The ``energy_kwh`` column always stays as measured.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..measure import codecarbon_data
from ..units import format_mass
from . import tradeoffs

if TYPE_CHECKING:  # pandas is imported where a frame is built
    import pandas as pd

__all__ = [
    "Location",
    "WhatIf",
    "default_locations",
    "resolve_location",
    "sentence",
    "whatif",
]

WORLD_WORDS = frozenset({"world", "world-average", "world_average"})
EXTREMES = 3  # the lowest and highest intensities shown by default
OWN_COLUMNS = ("label", "runs", "measured_in", "carbon_intensity_g_per_kwh", "energy_kwh")
HOW_TO_NAME = "use an ISO-3 country (DEU), world, or PROVIDER:REGION (gcp:europe-west1)"


@dataclass(frozen=True)
class Location:
    """Where a what-if puts the runs: its column name (as typed) and its grid's figure."""

    name: str  # as typed: the frame's column
    g_per_kwh: float
    source: str  # the data file and its year
    place: str = ""  # 'Germany (DEU)', 'world average', 'gcp europe-west1 (Belgium, ...)'
    kind: str = "country"  # country, world, cloud
    code: str | None = None  # ISO-3 of the country the figure is for, where known
    pue: float | None = None  # a PUE the data carries (replaces the run's), else None
    note: str = ""  # e.g. 'region known only by its country (BEL)'

    def caption(self) -> str:
        """'What-if: priced at POL (CodeCarbon global_energy_mix.json (2023), 662 g/kWh),
        energy as measured': how a re-priced table or figure says what it shows."""
        pue = f", PUE {self.pue:g} replaces the run's" if self.pue is not None else ""
        note = f"; {self.note}" if self.note else ""
        return (
            f"What-if: priced at {self.name} ({self.source}, {self.g_per_kwh:g} g/kWh{pue}"
            f"{note}), energy as measured"
        )

    def source_line(self) -> str:
        """'DEU: Germany (DEU), 381 g CO2e/kWh: CodeCarbon global_energy_mix.json (2023)'."""
        pue = f", PUE {self.pue:g} (replaces the run's)" if self.pue is not None else ""
        note = f"; {self.note}" if self.note else ""
        return f"{self.name}: {self.place}, {self.g_per_kwh:g} g CO2e/kWh{pue}: {self.source}{note}"


@dataclass(frozen=True)
class WhatIf:
    """The what-if frame (one row per label), its locations, totals and workshop sentence."""

    frame: pd.DataFrame
    locations: tuple[Location, ...]
    sentence: str
    runs: int  # runs in the totals
    totals_kg: dict  # 'emissions_kg' (as measured) and each location's name -> total kg

    @property
    def sources(self) -> dict[str, str]:
        return {location.name: location.source_line() for location in self.locations}


# -- locations --------------------------------------------------------------------------------
def _country(typed: str, code: str) -> Location:
    record = codecarbon_data.global_energy_mix()[code]
    place = f"{record.get('country_name', code)} ({code})"
    source = codecarbon_data.energy_mix_source(code)
    return Location(typed, float(record["carbon_intensity"]), source, place, code=code)


def _world(typed: str) -> Location:
    years = re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", codecarbon_data.world_average_source())
    year = years[-1] if years else "year not stated"
    source = f"CodeCarbon {codecarbon_data.WORLD_AVERAGE_FILE} ({year})"
    return Location(
        typed, codecarbon_data.world_average_g_per_kwh(), source, "world average", "world"
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _cloud(typed: str, row: dict[str, str]) -> Location:
    provider, region = row["provider"], row["region"]
    where = ", ".join(part for part in (row.get("city"), row.get("country_name")) if part)
    place = f"{row.get('providerName') or provider} {region}" + (f" ({where})" if where else "")
    code = (row.get("countryIsoCode") or "").upper() or None
    version = codecarbon_data.codecarbon_version()
    file = f"CodeCarbon {version} {codecarbon_data.CLOUD_IMPACT_FILE} (no year stated)"
    pue = _number(row.get("pue") or row.get("PUE") or "")
    impact = _number(row.get("impact", ""))
    if impact is not None:
        return Location(typed, impact, file, place, "cloud", code, pue)
    if code in codecarbon_data.global_energy_mix():  # known only by its country
        country = _country(typed, code)
        return Location(
            typed,
            country.g_per_kwh,
            f"{country.source} for its country: {file} has no figure for this region",
            place,
            "cloud",
            code,
            pue,
            f"region known only by its country ({code})",
        )
    raise ValueError(f"{typed!r} has no figure in {file}, nor a country in CodeCarbon's data")


def _country_code(key: str) -> str | None:
    mix = codecarbon_data.global_energy_mix()
    if key.upper() in mix:
        return key.upper()
    names = {str(r.get("country_name", "")).lower(): code for code, r in mix.items()}
    return names.get(key)


def resolve_location(text: str) -> Location:
    """The Location ``text`` names (see the module docstring). Raises ValueError, in one line
    naming the nearest matches, for a location CodeCarbon's data does not know."""
    typed = " ".join(str(text).split())
    key = typed.lower()
    if key in WORLD_WORDS:
        return _world(typed)
    if ":" in key:
        provider, _, region = key.partition(":")
        row = codecarbon_data.cloud_impact().get((provider.strip(), region.strip()))
        if row is not None:
            return _cloud(typed, row)
    elif key and (code := _country_code(key)) is not None:
        return _country(typed, code)
    raise ValueError(_unknown(typed))


def _candidates(cloud_only: bool) -> dict[str, str]:
    """Lower-case text a user might mean -> how a suggestion shows it."""
    found: dict[str, str] = {}
    for provider, region in codecarbon_data.cloud_impact():
        found[f"{provider}:{region}"] = f"{provider}:{region}"
        if not cloud_only:
            found.setdefault(region, f"{provider}:{region}")
    if cloud_only:
        return found
    found["world"] = "world"
    for code, record in codecarbon_data.global_energy_mix().items():
        shown = f"{code} ({record.get('country_name', code)})"
        found[code.lower()] = shown
        found.setdefault(str(record.get("country_name", code)).lower(), shown)
    return found


def _unknown(typed: str) -> str:
    key = typed.lower()[:100]
    candidates = _candidates(cloud_only=":" in key)
    near = difflib.get_close_matches(key, list(candidates), n=12, cutoff=0.6)
    shown = list(dict.fromkeys(candidates[match] for match in near))[:4]
    shown_typed = typed if len(typed) <= 60 else typed[:59] + "…"
    nearest = f"nearest: {', '.join(shown)}" if shown else "no close match"
    return f"unknown location {shown_typed!r} ({nearest}): {HOW_TO_NAME}"


def default_locations(rows: pd.DataFrame | None = None) -> list[Location]:
    """The runs' own countries, the world average, then the three lowest and the three highest
    intensities of CodeCarbon's country data (ties: by code), each named once."""
    mix = codecarbon_data.global_energy_mix()
    own = []
    if rows is not None and "country_iso_code" in rows.columns:
        own = [c for c in dict.fromkeys(rows["country_iso_code"].dropna()) if c in mix]
    ranked = sorted(mix, key=lambda code: (float(mix[code]["carbon_intensity"]), code))
    highest = sorted(mix, key=lambda code: (-float(mix[code]["carbon_intensity"]), code))
    names = [*own, "world", *ranked[:EXTREMES], *highest[:EXTREMES]]
    return [resolve_location(name) for name in dict.fromkeys(names)]


# -- the what-if ------------------------------------------------------------------------------
def _measured(rows: pd.DataFrame) -> pd.DataFrame:
    """Runs that ended (any status but 'running') with a finite energy figure."""
    import numpy as np
    import pandas as pd

    if rows.empty or "energy_kwh" not in rows.columns:
        return rows.iloc[0:0]
    energy = pd.to_numeric(rows["energy_kwh"], errors="coerce").to_numpy(float, na_value=np.nan)
    keep = np.isfinite(energy)
    if "status" in rows.columns:
        keep &= (rows["status"] != "running").fillna(True).to_numpy(bool)
    return rows[keep]


def _where(runs: pd.DataFrame) -> pd.Series:
    """Per run, the grid it was measured under: 'FRA', 'world average' or 'set by user'."""
    import numpy as np
    import pandas as pd

    code = runs.get("country_iso_code", pd.Series(None, index=runs.index, dtype=object))
    source = runs.get("intensity_source", pd.Series("", index=runs.index, dtype=object))
    source = source.fillna("").astype(str)
    fallback = np.where(source.str.startswith("set by"), source, "world average")
    return code.where(code.notna() & (code != ""), fallback).astype(str)


def _floats(runs: pd.DataFrame, column: str, default: float = math.nan):
    import numpy as np
    import pandas as pd

    if column not in runs.columns:
        return np.full(len(runs), default)
    values = pd.to_numeric(runs[column], errors="coerce").to_numpy(float, na_value=np.nan)
    return np.where(np.isfinite(values), values, default)


def co2_kg(energy_kwh, run_pue, location: Location):
    """CO2 in kg of ``energy_kwh`` (measured with ``run_pue``) at ``location``."""
    if location.pue is not None:
        energy_kwh = energy_kwh / run_pue * location.pue
    return energy_kwh * location.g_per_kwh / 1000.0


def whatif(rows: pd.DataFrame, locations=None, metric: str | None = None) -> WhatIf:
    """The what-if of ``rows`` (a ledger frame) at ``locations`` (names or Locations; default:
    :func:`default_locations`). One row per label (first-seen order), the means of its runs:
    ``runs``, ``measured_in``, ``carbon_intensity_g_per_kwh`` (as measured), ``energy_kwh``,
    ``emissions_kg`` (as measured), the metric (``metric``, default as ``%carbon table``), then
    one column per location in kg. ``frame.attrs['sources']``: location -> its source line.
    Raises ValueError for an unknown location or metric."""
    import numpy as np
    import pandas as pd

    metric = tradeoffs.choose_metric(rows, metric)
    if locations:
        chosen = [p if isinstance(p, Location) else resolve_location(p) for p in locations]
    else:
        chosen = default_locations(rows)
    chosen = list({location.name: location for location in chosen}.values())
    taken = {*OWN_COLUMNS, "emissions_kg", *([metric] if metric else [])}
    if metric in OWN_COLUMNS:
        raise ValueError(f"metric {metric!r} has the name of a what-if column")
    for location in chosen:
        if location.name in taken:
            raise ValueError(f"location {location.name!r} has the name of a what-if column")

    runs = _measured(rows)
    energy = _floats(runs, "energy_kwh")
    run_pue = _floats(runs, "pue", 1.0)
    run_pue = np.where(run_pue > 0, run_pue, 1.0)
    columns = {
        "carbon_intensity_g_per_kwh": _floats(runs, "carbon_intensity_g_per_kwh"),
        "energy_kwh": energy,
        "emissions_kg": _floats(runs, "emissions_kg"),
    }
    if metric is not None:
        columns[metric] = _floats(runs, metric)
    for location in chosen:
        columns[location.name] = co2_kg(energy, run_pue, location)
    labels = (
        runs["label"].astype("string").fillna("") if len(runs) else pd.Series([], dtype="string")
    )
    values = pd.DataFrame(columns, index=runs.index)
    values.insert(0, "label", labels.to_numpy())
    where = _where(runs) if len(runs) else pd.Series([], dtype=str)
    values["measured_in"] = where.to_numpy()
    grouped = values.groupby("label", sort=False)
    frame = grouped[list(columns)].mean()
    frame.insert(0, "runs", grouped.size())
    first, distinct = grouped["measured_in"].first(), grouped["measured_in"].nunique()
    frame.insert(1, "measured_in", first.where(distinct <= 1, "mixed"))
    frame = frame.reset_index()
    sources = {location.name: location.source_line() for location in chosen}
    frame.attrs["sources"] = sources
    frame.attrs["g_per_kwh"] = {location.name: location.g_per_kwh for location in chosen}

    totals = {name: float(np.nansum(columns[name])) for name in ["emissions_kg", *sources]}
    own = list(dict.fromkeys(where))
    text = sentence(len(runs), totals, chosen, own[0] if len(own) == 1 else None)
    return WhatIf(frame, tuple(chosen), text, len(runs), totals)


def _ratio(value: float, own: float) -> str:
    if not own or not math.isfinite(value / own):
        return ""
    ratio = value / own
    return f" ({ratio:.0f}x)" if ratio >= 10 else f" ({ratio:.2g}x)"


def _at(location: Location) -> str:
    return "at the world average" if location.kind == "world" else f"in {location.name}"


def sentence(runs: int, totals_kg: dict, locations: list[Location], measured_in: str | None) -> str:
    """'All 6 runs: 1.30 mg CO2e in FRA, 12.0 mg in POL (9.4x), 0.40 mg in SWE (0.31x)': the
    runs' total CO2 as measured, then at each location with its ratio to the measured total
    (a location that is where the runs were measured is not repeated)."""
    if runs == 0:
        return "No finished runs yet: run a %%carbon cell, then %carbon whatif."
    own = totals_kg["emissions_kg"]
    if measured_in is None:
        own_at = "as measured"
    elif measured_in == "world average":
        own_at = "at the world average"
    elif measured_in.startswith("set by"):
        own_at = f"as measured ({measured_in})"
    else:
        own_at = f"in {measured_in}"
    parts = [f"{format_mass(own)} CO2e {own_at}"]
    for location in locations:
        same_country = location.kind == "country" and location.code == measured_in
        same_world = location.kind == "world" and measured_in == "world average"
        if (same_country or same_world) and location.pue is None:
            continue
        value = totals_kg[location.name]
        parts.append(f"{format_mass(value)} {_at(location)}{_ratio(value, own)}")
    who = "The one run" if runs == 1 else f"All {runs:,} runs"
    return f"{who}: {', '.join(parts)}"
