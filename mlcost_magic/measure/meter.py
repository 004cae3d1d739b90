"""Turn counter deltas into energy and CO2: the formulas of README's "How the numbers are made".

CPU: RAPL package energy x the process tree's share of busy CPU time where RAPL is readable,
otherwise CPU-seconds x watts per thread. RAM: W/GB x mean resident GB x seconds. GPU: NVML
energy counters. Static: the user's watts for the machine's idle draw x wall seconds (0 unless
set). Total = (CPU + RAM + GPU + static) x PUE; CO2 = total x carbon intensity.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..units import BYTES_PER_GB, JOULES_PER_KWH
from . import counters
from .hardware import HardwareProfile
from .settings import CarbonIntensity


@dataclass(frozen=True)
class Snapshot:
    tree: counters.TreeSample
    machine_busy_cpu_s: float | None
    rapl_uj: tuple[int, ...]
    gpu_mj: tuple[int, ...]


@dataclass(frozen=True)
class Measurement:
    duration_s: float
    cpu_seconds: float
    ram_gb: float
    cpu_energy_kwh: float
    ram_energy_kwh: float
    gpu_energy_kwh: float
    static_energy_kwh: float
    energy_kwh: float
    emissions_kg: float
    carbon_intensity_g_per_kwh: float
    country_iso_code: str | None
    country_name: str | None
    intensity_source: str
    pue: float
    method: str
    cpu_power_w_per_thread: float
    ram_power_w_per_gb: float
    static_power_w: float
    # With RAPL: this process tree's share of the machine's busy CPU time (not a ledger column).
    cpu_share_of_machine: float | None = None

    @property
    def basis(self) -> str:
        return basis_text([self.method])


MEASURED_METHODS = ("rapl", "nvml")  # counters read from hardware; everything else is a model


def basis_text(methods) -> str:
    """'estimated', or e.g. 'RAPL+NVML measured, rest estimated' (RAM is never measured)."""
    joined = " ".join(str(m) for m in methods)
    measured = [m for m in MEASURED_METHODS if m in joined]
    return f"{'+'.join(measured).upper()} measured, rest estimated" if measured else "estimated"


@dataclass(frozen=True)
class Constants:
    """Everything a measurement depends on besides the counters; replaced when settings change."""

    intensity: CarbonIntensity
    pue: float
    ram_power_w_per_gb: float
    static_power_w: float = 0.0


class Meter:
    def __init__(self, hardware: HardwareProfile, constants: Constants):
        self.hardware = hardware
        self.constants = constants

    @property
    def method(self) -> str:
        cpu = self.hardware.cpu_power
        parts = [
            "rapl" if self.hardware.rapl_domains else f"estimate:tdp-{cpu.w_per_thread:g}W/thread"
        ]
        if self.hardware.gpus:
            parts.append("nvml")
        return "+".join(parts)

    def snapshot(self) -> Snapshot:
        hw = self.hardware
        rapl = counters.read_rapl_uj(hw.rapl_domains) if hw.rapl_domains else ()
        return Snapshot(
            tree=counters.sample_tree(),
            machine_busy_cpu_s=counters.machine_busy_cpu_s() if hw.rapl_domains else None,
            rapl_uj=rapl,
            gpu_mj=hw.gpus.read_mj() if hw.gpus else (),
        )

    def measure(
        self, start: Snapshot, end: Snapshot | None = None, constants: Constants | None = None
    ) -> Measurement:
        """Energy and CO2 between two snapshots (end defaults to now: the live figure), under
        the constants a run started with (default: the current ones)."""
        end = end or self.snapshot()
        hw, const = self.hardware, constants or self.constants
        duration_s = max(end.tree.wall_s - start.tree.wall_s, 0.0)
        cpu_seconds = counters.cpu_seconds_between(start.tree, end.tree)
        ram_gb = (start.tree.rss_bytes + end.tree.rss_bytes) / 2 / BYTES_PER_GB

        share = None
        if hw.rapl_domains:
            package_j = counters.rapl_joules_between(hw.rapl_domains, start.rapl_uj, end.rapl_uj)
            machine_cpu_s = (end.machine_busy_cpu_s or 0.0) - (start.machine_busy_cpu_s or 0.0)
            share = min(cpu_seconds / machine_cpu_s, 1.0) if machine_cpu_s > 0 else 0.0
            cpu_j = package_j * share
        else:
            cpu_j = cpu_seconds * hw.cpu_power.w_per_thread
        ram_j = const.ram_power_w_per_gb * ram_gb * duration_s
        gpu_j = hw.gpus.joules_between(start.gpu_mj, end.gpu_mj) if hw.gpus else 0.0

        static_j = const.static_power_w * duration_s
        energy_kwh = (cpu_j + ram_j + gpu_j + static_j) * const.pue / JOULES_PER_KWH
        intensity = const.intensity
        return Measurement(
            duration_s=duration_s,
            cpu_seconds=cpu_seconds,
            ram_gb=ram_gb,
            cpu_energy_kwh=cpu_j / JOULES_PER_KWH,
            ram_energy_kwh=ram_j / JOULES_PER_KWH,
            gpu_energy_kwh=gpu_j / JOULES_PER_KWH,
            static_energy_kwh=static_j / JOULES_PER_KWH,
            energy_kwh=energy_kwh,
            emissions_kg=energy_kwh * intensity.g_per_kwh / 1e3,
            carbon_intensity_g_per_kwh=intensity.g_per_kwh,
            country_iso_code=intensity.country_iso_code,
            country_name=intensity.country_name,
            intensity_source=intensity.source,
            pue=const.pue,
            method=self.method,
            cpu_power_w_per_thread=hw.cpu_power.w_per_thread,
            ram_power_w_per_gb=const.ram_power_w_per_gb,
            static_power_w=const.static_power_w,
            cpu_share_of_machine=share,
        )
