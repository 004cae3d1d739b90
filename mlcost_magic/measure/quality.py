"""How far to trust one run's figures: a quality word and the reason, from what was measured.

Rules, first match wins (README "How the numbers are made" gives their sources):
    short         duration under SHORT_RUN_S (0.1 s): the OS's child CPU-time counters tick
                  in 10 ms and timer noise is a large share; with a GPU, under SHORT_GPU_RUN_S
                  (1 s), i.e. under ten of NVML's ~100 ms energy-counter updates
    busy machine  RAPL attribution while other processes used over half the machine's CPU
    noisy         (a group of repeats) energy's coefficient of variation over NOISY_CV (10 %):
                  decided by ``compare.aggregate.noise`` when the group ends
    estimate      the CPU figure is a TDP model, not a counter (published comparisons find
                  such estimates up to 40 % off a wall meter)
    ok            every component a counter, long enough, machine not busy
"""

from __future__ import annotations

from dataclasses import dataclass

SHORT_RUN_S = 0.1
SHORT_GPU_RUN_S = 1.0
BUSY_MACHINE_OTHERS_SHARE = 0.5
ADVICE = {
    "short": "short run: use --repeat 10",
    "busy machine": "busy machine: rerun when it is idle",
    "noisy": "noisy: use more --repeat",
}


@dataclass(frozen=True)
class Quality:
    word: str  # ok, estimate, short, busy machine, noisy
    reason: str

    @property
    def note(self) -> str | None:
        """What the summary line adds (None for ok and estimate: 'estimated' already says it)."""
        return ADVICE.get(self.word)


def judge(measurement) -> Quality:
    """The quality of one measured run (see the module docstring)."""
    m = measurement
    if "nvml" in m.method and m.duration_s < SHORT_GPU_RUN_S:
        return Quality(
            "short",
            f"{m.duration_s:.3g} s is under {SHORT_GPU_RUN_S:g} s: fewer than ten updates of "
            "NVML's energy counter (about every 100 ms)",
        )
    if m.duration_s < SHORT_RUN_S:
        return Quality(
            "short",
            f"{m.duration_s:.3g} s is under {SHORT_RUN_S:g} s: child CPU time comes in 10 ms "
            "ticks and timer noise is a large share of the figure",
        )
    share = m.cpu_share_of_machine
    if share is not None and 1.0 - share > BUSY_MACHINE_OTHERS_SHARE:
        return Quality(
            "busy machine",
            f"other processes used {100 * (1 - share):.0f} % of the machine's busy CPU time: "
            "RAPL package energy is split by CPU-time share",
        )
    if "rapl" not in m.method:
        return Quality(
            "estimate",
            "CPU energy from a TDP model (CodeCarbon's table), not a counter: published "
            "comparisons find such estimates up to 40 % off a wall meter",
        )
    return Quality("ok", "measured counters, long enough, machine not busy")
