"""Time from a run's end to the panel showing it, at 10, 100 and 1,000 runs in the session,
against drawing the same four-panel figure with plain seaborn as CodeCarbon's model-comparison
tutorial does (pyplot subplots, sns.barplot / sns.scatterplot, one annotation per run, tight
layout, savefig PNG), measured in the same run on the same machine.

"Run end to panel" = leaving a real ``Session.track()`` block (ledger write, listener: re-read
the session and reset the table) + the deferred figure redraw in ``post_run_cell``.

    .venv/bin/python benchmarks/bench_panel.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fresh_ledger_env, quiet_codecarbon  # noqa: E402

SIZES = (10, 100, 1000)
LABELS = 10
TARGETS_MS = {100: 250, 1000: 1000}


class _Shell:
    """Just the shell events the panel registers with."""

    def __init__(self):
        from IPython.core.events import EventManager, available_events

        self.events = EventManager(self, available_events)


def _populate(session, count: int, start: int) -> None:
    import random

    rng = random.Random(start)
    for number in range(start, start + count):
        label = f"model-{number % LABELS}"
        with session.track(label, quiet=True) as run:
            run.log_metric("accuracy", 0.7 + 0.02 * (number % LABELS) + rng.uniform(-0.01, 0.01))


def tutorial_figure_s(frame) -> float:
    """The tutorial's figure with plain seaborn on pyplot, to PNG bytes; seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    started = time.perf_counter()
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    fig.suptitle("Model Efficiency Comparison", fontsize=16, fontweight="bold")
    sns.barplot(data=frame, x="label", y="emissions_kg", ax=axes[0, 0])
    axes[0, 0].tick_params(axis="x", rotation=45)
    for ax, x in ((axes[0, 1], "accuracy"), (axes[1, 0], "duration_s")):
        sns.scatterplot(data=frame, x=x, y="emissions_kg", hue="label", s=200, ax=ax, legend=False)
        for label, xv, yv in zip(frame["label"], frame[x], frame["emissions_kg"], strict=True):
            ax.annotate(label, (xv, yv), xytext=(8, 8), textcoords="offset points", fontsize=9)
        ax.grid(True, alpha=0.3)
    sns.barplot(data=frame, x="label", y="emissions_kg_per_metric_point", ax=axes[1, 1])
    axes[1, 1].tick_params(axis="x", rotation=45)
    plt.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    plt.close(fig)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    fresh_ledger_env()
    quiet_codecarbon()
    from mlcost_magic.panel import CarbonPanel
    from mlcost_magic.session import Session

    session = Session()
    shell = _Shell()
    panel = CarbonPanel(session, shell)
    rows = []
    recorded = 0
    for size in SIZES:
        # Fill up to size - repeats; each measured repeat then adds one run, ending at `size`.
        target_before = max(size - args.repeats, recorded)
        _populate(session, target_before - recorded, recorded)
        recorded = target_before
        tables, figures, totals, baselines = [], [], [], []
        for repeat in range(args.repeats):
            with session.track(f"model-{repeat % LABELS}", quiet=True) as run:
                run.log_metric("accuracy", 0.8)
                ended = time.perf_counter()
            shell.events.trigger("post_run_cell", None)
            totals.append(time.perf_counter() - ended)
            tables.append(panel.last_table_s)
            figures.append(panel.last_figure_s)
            recorded += 1
            baselines.append(tutorial_figure_s(session.to_frame()))
        rows.append((recorded, tables, figures, totals, baselines))
    panel.close()
    session.close()

    print(
        "| runs | listener: table | figure redraw | run end to panel | tutorial seaborn figure "
        "| ratio | target |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    for size, tables, figures, totals, baselines in rows:
        ms = [statistics.median(x) * 1e3 for x in (tables, figures, totals, baselines)]
        target = next((f"< {ms_} ms" for n, ms_ in TARGETS_MS.items() if n == size), "")
        print(
            f"| {size} | {ms[0]:.0f} ms | {ms[1]:.0f} ms | {ms[2]:.0f} ms | {ms[3]:.0f} ms "
            f"| {ms[2] / ms[3]:.2f} | {target} |"
        )
    print(f"\nmedians of {args.repeats} runs each; ratio = run end to panel / tutorial figure")


if __name__ == "__main__":
    main()
