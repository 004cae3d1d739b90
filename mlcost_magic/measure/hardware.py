"""What this machine is, and the power constants that follow from it (detected once per session)."""

from __future__ import annotations

import os
import platform
import socket
import sys
from dataclasses import dataclass, field

from . import codecarbon_data
from .counters import RaplDomain, find_rapl_packages


@dataclass(frozen=True)
class CpuPower:
    """Power per busy hardware thread, and where the figure came from."""

    w_per_thread: float
    source: str  # human-readable provenance
    tdp_w: float | None = None
    matched_model: str | None = None


@dataclass
class HardwareProfile:
    hostname: str
    cpu_model: str
    cpu_count: int  # logical CPUs (hardware threads)
    cpu_sockets: int
    cpu_power: CpuPower
    rapl_domains: list[RaplDomain] = field(default_factory=list)
    gpus: GpuSet | None = None

    @property
    def gpu_model(self) -> str | None:
        return self.gpus.model if self.gpus else None


USER_ENV, HOST_ENV = "MLCOST_USER", "MLCOST_HOSTNAME"


def machine_name() -> str:
    """The host as runs record it: $MLCOST_HOSTNAME (a JupyterHub pod's name says nothing to a
    class), else the host name."""
    return os.environ.get(HOST_ENV, "").strip() or socket.gethostname()


def login_name() -> str:
    """Who runs this session: $MLCOST_USER (on a JupyterHub every participant may be
    'jovyan'), else the login name, else the numeric user id (a container may have no passwd
    entry)."""
    import getpass

    if os.environ.get(USER_ENV, "").strip():
        return os.environ[USER_ENV].strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def read_cpu_model() -> tuple[str, int]:
    """(brand string, socket count). /proc/cpuinfo on Linux (instant); py-cpuinfo elsewhere."""
    if sys.platform.startswith("linux"):
        model, sockets = "", set()
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    key, _, value = line.partition(":")
                    key = key.strip()
                    if key == "model name" and not model:
                        model = value.strip()
                    elif key == "physical id":
                        sockets.add(value.strip())
        except OSError:
            pass
        if model:
            return model, max(len(sockets), 1)
    from codecarbon.core.util import detect_cpu_model

    return (detect_cpu_model() or platform.processor() or "unknown CPU"), 1


def cpu_power_for(
    model: str, cpu_count: int, sockets: int, override_w: float | None = None
) -> CpuPower:
    """Per-thread power: the user's figure, else TDP from CodeCarbon's table / threads, else
    CodeCarbon's default per-thread power for unknown models."""
    if override_w is not None:
        return CpuPower(float(override_w), "set by user")
    matched = codecarbon_data.match_cpu_model(model)
    tdp_w = codecarbon_data.cpu_tdp_w(matched) if matched else None
    if tdp_w:
        w_per_thread = tdp_w * sockets / cpu_count
        return CpuPower(
            w_per_thread,
            f"CodeCarbon TDP table: {matched} {tdp_w:g} W x {sockets} socket(s)"
            f" / {cpu_count} threads",
            tdp_w=tdp_w,
            matched_model=matched,
        )
    default_w = codecarbon_data.default_power_w_per_thread()
    return CpuPower(
        default_w,
        f"'{model}' not in CodeCarbon's TDP table: its default {default_w:g} W per thread",
    )


class GpuSet:
    """The NVIDIA GPUs NVML sees, read through their energy counters."""

    def __init__(self, nvml, handles):
        self._nvml = nvml
        self._handles = handles
        names = [nvml.nvmlDeviceGetName(h) for h in handles]
        names = [n.decode() if isinstance(n, bytes) else n for n in names]
        self.model = f"{len(names)} x {names[0]}" if len(set(names)) == 1 else ", ".join(names)
        self.count = len(handles)

    def read_mj(self) -> tuple[int, ...]:
        """Total energy each GPU has used since its driver loaded, in millijoules."""
        return tuple(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles)

    @staticmethod
    def joules_between(before: tuple[int, ...], after: tuple[int, ...]) -> float:
        return sum(max(b - a, 0) for a, b in zip(before, after, strict=False)) / 1e3


def detect_gpus() -> GpuSet | None:
    """NVML's GPUs with a working energy counter, or None (no NVIDIA driver, no GPU)."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        if not handles:
            return None
        gpus = GpuSet(pynvml, handles)
        gpus.read_mj()  # raises NVMLError_NotSupported on GPUs older than Volta
        return gpus
    except Exception:  # NVMLError_LibraryNotFound, DriverNotLoaded, NotSupported...
        return None


def detect_hardware(cpu_power_override_w: float | None = None) -> HardwareProfile:
    model, sockets = read_cpu_model()
    cpu_count = os.cpu_count() or 1
    return HardwareProfile(
        hostname=machine_name(),
        cpu_model=model,
        cpu_count=cpu_count,
        cpu_sockets=sockets,
        cpu_power=cpu_power_for(model, cpu_count, sockets, cpu_power_override_w),
        rapl_domains=find_rapl_packages(),
        gpus=detect_gpus(),
    )
