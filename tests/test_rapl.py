"""RAPL arithmetic on a powercap tree laid out like the kernel's (no RAPL on our VMs): package
domains found, sub-domains skipped, counter wrap-around handled, energy scaled by CPU share."""

from __future__ import annotations

import pytest

from mlcost_magic.measure import counters
from mlcost_magic.measure.counters import find_rapl_packages, rapl_joules_between


def make_domain(root, name: str, domain: str, energy_uj: int, max_uj: int = 2**32):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "name").write_text(domain + "\n")
    (folder / "energy_uj").write_text(f"{energy_uj}\n")
    (folder / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return folder


def test_packages_are_found_and_subdomains_skipped(tmp_path):
    make_domain(tmp_path, "intel-rapl:0", "package-0", 1_000)
    make_domain(tmp_path, "intel-rapl:0:0", "core", 500)
    make_domain(tmp_path, "intel-rapl:1", "package-1", 2_000)
    make_domain(tmp_path, "intel-rapl:2", "psys", 9_000)
    domains = find_rapl_packages(tmp_path)
    assert [d.name for d in domains] == ["package-0", "package-1"]
    assert counters.read_rapl_uj(domains) == (1_000, 2_000)


def test_counter_wrap_is_handled(tmp_path):
    make_domain(tmp_path, "intel-rapl:0", "package-0", 0, max_uj=10_000_000)
    domains = find_rapl_packages(tmp_path)
    # 9.5 J before the wrap at 10 J, then 1.5 J after it: 2 J used.
    assert rapl_joules_between(domains, (9_500_000,), (1_500_000,)) == pytest.approx(2.0)


def test_meter_charges_the_process_trees_share_of_package_energy(tmp_path, monkeypatch):
    from mlcost_magic.measure.hardware import CpuPower, HardwareProfile
    from mlcost_magic.measure.meter import Constants, Meter
    from mlcost_magic.measure.settings import CarbonIntensity

    package = make_domain(tmp_path, "intel-rapl:0", "package-0", 0)
    hardware = HardwareProfile("host", "cpu", 4, 1, CpuPower(5.0, "test"),
                               rapl_domains=find_rapl_packages(tmp_path))  # fmt: skip
    meter = Meter(hardware, Constants(CarbonIntensity(100.0, "FRA", "France", "test"), 1.0, 0.0))
    assert meter.method == "rapl"
    machine_busy = iter([100.0, 104.0])  # the machine used 4 busy CPU-seconds in between
    monkeypatch.setattr(counters, "machine_busy_cpu_s", lambda: next(machine_busy))
    start = meter.snapshot()
    end_tree = counters.TreeSample(
        start.tree.wall_s + 2.0,
        start.tree.self_cpu_s + 1.0,
        start.tree.reaped_children_cpu_s,
        start.tree.descendants_cpu_s,  # any worker processes: unchanged
    )
    (package / "energy_uj").write_text("36000000\n")  # 36 J for the whole package
    end = meter.snapshot()
    end = type(end)(end_tree, end.machine_busy_cpu_s, end.rapl_uj, end.gpu_mj)
    m = meter.measure(start, end)
    assert m.cpu_seconds == pytest.approx(1.0)
    assert m.cpu_energy_kwh * 3.6e6 == pytest.approx(36.0 * 1.0 / 4.0)  # our share: 1 of 4
    assert m.basis == "RAPL measured, rest estimated"


def test_counters_that_exist_but_cannot_be_read_are_reported(tmp_path, monkeypatch):
    import os

    make_domain(tmp_path, "intel-rapl:0", "package-0", 1_000)
    assert not counters.rapl_unreadable(tmp_path)
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a non-root user
    assert counters.rapl_unreadable(tmp_path)
    assert not counters.rapl_unreadable(tmp_path / "absent")
