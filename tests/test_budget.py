"""%carbon budget: every summary line says how much of it is used; crossing it warns once."""

from __future__ import annotations

import warnings

import pytest
from conftest import run_cell

from mlcost_magic.errors import BudgetWarning
from mlcost_magic.units import format_number, parse_budget


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("5g", "emissions_kg", 5e-3),
        ("500 mg", "emissions_kg", 5e-4),
        ("2kg", "emissions_kg", 2.0),
        ("30ug", "emissions_kg", 3e-8),
        ("30µg", "emissions_kg", 3e-8),
        ("1gCO2e", "emissions_kg", 1e-3),
        ("10Wh", "energy_kwh", 1e-2),
        ("3mWh", "energy_kwh", 3e-6),
        ("1.5kWh", "energy_kwh", 1.5),
    ],
)
def test_budget_amounts_parse_to_the_ledgers_units(text, kind, value):
    parsed_kind, parsed = parse_budget(text)
    assert parsed_kind == kind and parsed == pytest.approx(value)


@pytest.mark.parametrize("text", ["5", "g", "-1g", "0g", "5 lb", "nan g", "infWh"])
def test_a_bad_budget_is_refused_in_one_line(shell, text):
    result = run_cell(shell, f"%carbon budget '{text}'")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "\n" not in str(result.error_in_exec)


def test_summary_lines_say_how_much_is_used_and_crossing_warns_once(shell, capsys):
    run_cell(shell, "%carbon budget 3mWh")
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):
            run_cell(shell, "%%carbon nap\nimport time\ntime.sleep(0.15)")
    lines = capsys.readouterr().out.strip().splitlines()
    session = shell._mlcost_magics.session
    used_mwh = session.used["energy_kwh"] * 1e6
    assert all(" of 3.00 mWh" in line for line in lines)
    assert lines[-1].endswith(f"{format_number(used_mwh)} of 3.00 mWh")
    # Four sleeping cells use microwatt-hours: far from the budget, so no warning (crossing is
    # the next test's).
    assert used_mwh < 3
    assert not [w for w in caught if issubclass(w.category, BudgetWarning)]
    run_cell(shell, "%carbon status")
    assert "budget: " in capsys.readouterr().out
    run_cell(shell, "%carbon budget off")
    run_cell(shell, "%%carbon nap\npass")
    assert " of 3.00 mWh" not in capsys.readouterr().out


def test_a_tiny_co2_budget_is_crossed_and_said_once(shell, capsys):
    run_cell(shell, "%carbon budget 1ug")
    with pytest.warns(BudgetWarning, match="over its budget"):
        run_cell(shell, "%%carbon busy\nx = sum(range(3 * 10**6))")  # ~0.1 CPU-s: tens of µg
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_cell(shell, "%%carbon nap2\nimport time\ntime.sleep(0.15)")
    assert not [w for w in caught if issubclass(w.category, BudgetWarning)]
    assert "of 1.00 µg CO2e" in capsys.readouterr().out
