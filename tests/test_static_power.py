"""Static power: the machine's idle draw charged for a cell's wall time, and %carbon baseline
that measures it where RAPL is readable (and says so, measuring nothing, where it is not)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import run_cell, session_frame
from test_rapl import make_domain
from traitlets import TraitError

from mlcost_magic.measure.counters import find_rapl_packages


def test_static_power_is_charged_for_wall_time_before_pue(shell, capsys):
    magics = shell._mlcost_magics
    magics.static_power_w, magics.pue = 25.0, 1.2
    try:
        run_cell(shell, "%%carbon idle\nimport time\ntime.sleep(0.3)")
        run_cell(shell, "%carbon status")
    finally:
        magics.static_power_w, magics.pue = None, None
    row = session_frame(shell).iloc[-1]
    assert row.static_power_w == 25.0
    assert row.static_energy_kwh * 3.6e6 == pytest.approx(25.0 * row.duration_s, rel=1e-6)
    parts = row.cpu_energy_kwh + row.ram_energy_kwh + row.gpu_energy_kwh + row.static_energy_kwh
    assert row.energy_kwh == pytest.approx(parts * 1.2)
    out = capsys.readouterr().out
    summary, status = out.splitlines()[0], out
    assert "static " in summary.split("(")[1]  # a component of the energy, like CPU and RAM
    assert "Static:  25 W (set by user)" in status


def test_no_static_power_by_default_and_a_bad_value_is_refused(shell, capsys):
    run_cell(shell, "%%carbon plain\npass")
    row = session_frame(shell).iloc[-1]
    assert row.static_energy_kwh == 0 and row.static_power_w == 0
    assert "static" not in capsys.readouterr().out
    with pytest.raises(TraitError, match="static_power_w must be a finite number >= 0"):
        shell._mlcost_magics.static_power_w = -5.0


def test_baseline_without_readable_rapl_says_so_in_one_line_and_measures_nothing(shell, capsys):
    assert shell._mlcost_magics.session.hardware.rapl_domains == []  # none on these VMs
    result = run_cell(shell, "%carbon baseline 0.2")
    assert result.success and result.result is None
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and "nothing was measured" in out
    assert "static_power_w" in out
    assert len(session_frame(shell)) == 0
    refused = run_cell(shell, "%carbon baseline -1")
    assert "at most 3600" in str(refused.error_in_exec)


def test_baseline_with_rapl_measures_idle_package_power(shell, capsys, tmp_path, monkeypatch):
    make_domain(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    domains = find_rapl_packages(tmp_path)
    monkeypatch.setattr(shell._mlcost_magics.session.hardware, "rapl_domains", domains)

    def ten_joules_later():
        time.sleep(0.1)
        (tmp_path / "intel-rapl:0" / "energy_uj").write_text(str(1_000_000 + 10_000_000))

    bump = threading.Thread(target=ten_joules_later)
    bump.start()
    watts = run_cell(shell, "%carbon baseline 0.5").result
    bump.join()
    assert watts == pytest.approx(10.0 / 0.5, rel=0.1)
    assert f"static_power_w = {watts:.1f}" in capsys.readouterr().out
