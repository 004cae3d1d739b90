"""Cheap reads of the OS counters a measurement rests on.

- CPU time and resident memory of this process and all its descendants (scikit-learn's
  n_jobs workers included), as exact counter values, not sampled utilisation.
- Machine-wide busy CPU time (to attribute RAPL energy to the process tree).
- RAPL package energy counters, where readable.
- The CPU time of this package's own threads (the panel's worker, the live meter), which is
  subtracted from the process's: the tool's overhead is never charged to the user's run.
Linux reads /proc directly (a few small files per snapshot); other systems go through psutil.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

IS_LINUX = sys.platform.startswith("linux")
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
RAPL_ROOT = Path("/sys/class/powercap")


class OwnThreads:
    """CPU seconds used by this package's own threads, live and ended, in this process."""

    def __init__(self) -> None:
        self._clocks: dict[int, int] = {}  # thread ident -> its CPU-time clock id
        self._ended_cpu_s = 0.0
        self._lock = threading.Lock()

    def add_current(self) -> None:
        """Count the calling thread as ours (call it first thing in the thread)."""
        if hasattr(time, "pthread_getcpuclockid"):
            clock = time.pthread_getcpuclockid(threading.get_ident())
            with self._lock:
                self._clocks[threading.get_ident()] = clock

    def discard_current(self) -> None:
        """The calling thread ends: keep what it used (still in the process's total)."""
        with self._lock:
            if self._clocks.pop(threading.get_ident(), None) is not None:
                self._ended_cpu_s += time.thread_time()

    def cpu_s(self) -> float:
        with self._lock:
            total = self._ended_cpu_s
            for clock in self._clocks.values():
                try:
                    total += time.clock_gettime(clock)
                except OSError:  # the thread is just ending
                    continue
            return total


own_threads = OwnThreads()  # process-wide, like the threads it counts


@dataclass(frozen=True)
class TreeSample:
    """Counters of the process tree at one instant."""

    wall_s: float
    self_cpu_s: float
    reaped_children_cpu_s: float
    # (pid, start time) -> CPU seconds of that live descendant, including its reaped children.
    descendants_cpu_s: dict[tuple[int, int], float] = field(default_factory=dict)
    rss_bytes: int = 0


def cpu_seconds_between(before: TreeSample, after: TreeSample) -> float:
    """CPU seconds the tree used between two samples.

    A descendant that exits and is reaped moves its total into its parent's reaped-children
    counter, so subtracting its earlier value keeps the sum exact. Known gap: a descendant
    orphaned during the run (its parent exited first) is reaped by init, so its CPU time
    since the first sample is not seen and its earlier value is subtracted: an undercount.
    """
    used = after.self_cpu_s - before.self_cpu_s
    used += after.reaped_children_cpu_s - before.reaped_children_cpu_s
    for key, cpu_s in after.descendants_cpu_s.items():
        used += cpu_s - before.descendants_cpu_s.get(key, 0.0)
    for key, cpu_s in before.descendants_cpu_s.items():
        if key not in after.descendants_cpu_s:
            used -= cpu_s
    return max(used, 0.0)


def _sample(times, descendants: dict[tuple[int, int], float], rss_bytes: int) -> TreeSample:
    return TreeSample(
        wall_s=time.perf_counter(),
        self_cpu_s=time.process_time() - own_threads.cpu_s(),
        reaped_children_cpu_s=times.children_user + times.children_system,
        descendants_cpu_s=descendants,
        rss_bytes=rss_bytes,
    )


def _read_stat(pid: int | str) -> tuple[float, int, int] | None:
    """(CPU seconds incl. reaped children, start time in ticks, RSS bytes) from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17, starttime=22, rss=24
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS_PER_S, int(fields[19]), int(fields[21]) * PAGE_SIZE_BYTES


def _child_pids(pid: int) -> list[int]:
    children: list[int] = []
    task_dir = f"/proc/{pid}/task"
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return children
    for tid in tids:
        try:
            with open(f"{task_dir}/{tid}/children", "rb") as handle:
                children.extend(int(p) for p in handle.read().split())
        except OSError:
            continue
    return children


class _OwnProcFiles:
    """This process's /proc files, read through kept-open descriptors.

    A kernel has a dozen threads: opening each one's ``children`` file, and ``statm``, twice
    per run made a snapshot cost 0.42 ms in a kernel's cell (0.18 ms kept); ``pread`` at offset
    0 re-reads a kept descriptor. Files of ended threads are closed; a forked
    child starts afresh. The live meter's thread snapshots too, hence the lock."""

    def __init__(self) -> None:
        self._pid = -1
        self._fds: dict[str, int] = {}  # path below /proc/PID -> descriptor
        self._lock = threading.Lock()

    def rss_bytes(self) -> int:
        """Resident memory of this process (statm's second field, in pages)."""
        with self._lock:
            raw = self._read("statm")
        try:
            return int(raw.split()[1]) * PAGE_SIZE_BYTES
        except (AttributeError, IndexError, ValueError):
            return 0

    def child_pids(self) -> list[int]:
        """The children of every thread of this process."""
        with self._lock:
            self._check_pid()
            try:
                tasks = {f"task/{tid}/children" for tid in os.listdir(f"/proc/{self._pid}/task")}
            except OSError:
                return []
            for path in [p for p in self._fds if p.startswith("task/") and p not in tasks]:
                self._close(path)  # the thread has ended
            children: list[int] = []
            for path in tasks:
                raw = self._read(path)
                if raw:
                    children.extend(int(p) for p in raw.split())
            return children

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            for path in list(self._fds):
                self._close(path)
            self._pid = os.getpid()

    def _read(self, path: str) -> bytes | None:
        self._check_pid()
        try:
            fd = self._fds.get(path)
            if fd is None:
                fd = self._fds[path] = os.open(f"/proc/{self._pid}/{path}", os.O_RDONLY)
            return os.pread(fd, 65536, 0)
        except OSError:
            self._close(path)
            return None

    def _close(self, path: str) -> None:
        fd = self._fds.pop(path, None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


_own_files = _OwnProcFiles()


def _linux_sample() -> TreeSample:
    times = os.times()
    descendants: dict[tuple[int, int], float] = {}
    rss_bytes = _own_files.rss_bytes()
    pending = _own_files.child_pids()
    while pending:
        pid = pending.pop()
        stat = _read_stat(pid)
        if stat is None:
            continue
        cpu_s, start_ticks, rss = stat
        descendants[(pid, start_ticks)] = cpu_s
        rss_bytes += rss
        pending.extend(_child_pids(pid))
    return _sample(times, descendants, rss_bytes)


def _psutil_sample() -> TreeSample:
    import psutil

    me = psutil.Process()
    times = os.times()
    descendants: dict[tuple[int, int], float] = {}
    rss_bytes = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            with child.oneshot():
                cpu = child.cpu_times()
                key = (child.pid, int(child.create_time() * 1000))
                descendants[key] = cpu.user + cpu.system
                rss_bytes += child.memory_info().rss
        except psutil.Error:
            continue
    return _sample(times, descendants, rss_bytes)


sample_tree = _linux_sample if IS_LINUX else _psutil_sample


def machine_busy_cpu_s() -> float | None:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    try:
        with open("/proc/stat", "rb") as handle:
            first = handle.readline().split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in first[1:9]]
    busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
    return busy / CLOCK_TICKS_PER_S


@dataclass(frozen=True)
class RaplDomain:
    name: str
    energy_path: Path
    max_energy_uj: int


def find_rapl_packages(root: Path = RAPL_ROOT) -> list[RaplDomain]:
    """Readable RAPL package domains (intel-rapl:N, whose name is package-N)."""
    domains = []
    if not root.is_dir():
        return domains
    for entry in sorted(root.glob("intel-rapl:*")):
        if entry.name.count(":") != 1:
            continue  # sub-domains (core, uncore, dram) are inside the package figure
        try:
            name = (entry / "name").read_text().strip()
            if not name.startswith("package"):
                continue
            max_uj = int((entry / "max_energy_range_uj").read_text())
            int((entry / "energy_uj").read_text())  # readable? (root-only on recent kernels)
        except (OSError, ValueError):
            continue
        domains.append(RaplDomain(name, entry / "energy_uj", max_uj))
    return domains


def rapl_unreadable(root: Path = RAPL_ROOT) -> bool:
    """True when RAPL counters exist but this user may not read them (root-only since 2020)."""
    return any(
        not os.access(entry / "energy_uj", os.R_OK)
        for entry in root.glob("intel-rapl:*")
        if (entry / "energy_uj").exists()
    )


def read_rapl_uj(domains: list[RaplDomain]) -> tuple[int, ...]:
    return tuple(int(d.energy_path.read_text()) for d in domains)


def idle_package_power_w(domains: list[RaplDomain], seconds: float, sleep=time.sleep) -> float:
    """Mean package power of the whole machine over ``seconds`` of waiting (RAPL), in W."""
    before = read_rapl_uj(domains)
    started = time.perf_counter()
    sleep(seconds)
    elapsed_s = time.perf_counter() - started
    return rapl_joules_between(domains, before, read_rapl_uj(domains)) / max(elapsed_s, 1e-9)


def rapl_joules_between(
    domains: list[RaplDomain], before: tuple[int, ...], after: tuple[int, ...]
) -> float:
    """Energy in joules between two readings, allowing each counter to wrap once."""
    total_uj = 0
    for domain, start_uj, end_uj in zip(domains, before, after, strict=False):
        delta = end_uj - start_uj
        if delta < 0:
            delta += domain.max_energy_uj
        total_uj += delta
    return total_uj / 1e6
