"""A session's carbon (or energy) budget: ``%carbon budget 5g`` / ``%carbon budget off``.

Every summary line then ends with how much is used (``2.1 of 5 g CO2e``), the panel's footer
and ``%carbon status`` show it, and crossing it warns once (a BudgetWarning). What counts is
the session's footprint: ended runs that did not run inside another, kept as a running total
so that a warm cell pays no ledger query for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BudgetWarning, warn
from .units import energy_scale, format_number, mass_scale, parse_budget


@dataclass
class Budget:
    kind: str  # 'emissions_kg' or 'energy_kwh'
    limit: float  # in kg CO2e or kWh
    warned: bool = False

    @classmethod
    def parse(cls, text: str) -> Budget:
        return cls(*parse_budget(text))

    def _unit(self) -> tuple[float, str]:
        """(factor, unit) of the limit's scale, e.g. (1e-3, 'g CO2e')."""
        if self.kind == "emissions_kg":
            factor, suffix = mass_scale(self.limit)
            return factor, f"{suffix} CO2e"
        return energy_scale(self.limit)

    def used_text(self, used: float) -> str:
        """'2.1 of 5 g CO2e' (used and limit in the limit's unit)."""
        factor, unit = self._unit()
        return f"{format_number(used / factor)} of {format_number(self.limit / factor)} {unit}"

    def describe(self) -> str:
        factor, unit = self._unit()
        return f"budget {format_number(self.limit / factor)} {unit}"

    def check(self, used: float) -> None:
        """Warn once when the session's use crosses the limit."""
        if used > self.limit and not self.warned:
            self.warned = True
            warn(f"this session is over its budget: {self.used_text(used)}", BudgetWarning)
