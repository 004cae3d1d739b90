"""The ``%carbon`` subcommands, one function each, reached through :func:`run_command`.

Each reads the session's runs once, compares them once and hands that to its view. A bad
value (unknown metric, unwritable path) is one ``UsageError`` line; nothing is half-written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from .magic_args import one_line
from .views.status import totals_text

FIGURE_SUFFIXES = ("png", "svg", "pdf")


def run_command(args: argparse.Namespace, session, shell, panels: list) -> Any:
    command = COMMANDS[args.command]
    try:
        return command(args, session, shell, panels)
    except ValueError as error:  # unknown metric, bad path: our checks speak in ValueError
        raise UsageError(f"%carbon {args.command}: {one_line(error)}") from None


def _comparison(session, args: argparse.Namespace):
    """The comparison a subcommand shows; with --at LOCATION, a what-if priced there (its
    caption is printed, so the output never passes for a measurement); with --by user, the
    runs grouped by their user."""
    from .compare.comparison import compare
    from .compare.hosts import regroup

    rows = _rows(session, args)
    if getattr(args, "by", None) == "user":
        rows = regroup(rows, "user")
    comparison = compare(rows, args.metric, priced_at=getattr(args, "at", None))
    if comparison.what_if:
        print(comparison.what_if)
    return comparison


def _rows(session, args: argparse.Namespace):
    """The runs a command works on: this session's, every session's (--all), or every
    participant's in the MLflow experiment (--mlflow [--experiment NAME])."""
    source = _shared_source(session, args)
    return source() if source is not None else session.read_runs(getattr(args, "all", False))


def _shared_source(session, args: argparse.Namespace):
    """With --mlflow [--experiment NAME]: a callable reading the experiment's runs; else None."""
    if getattr(args, "experiment", None) and not args.mlflow:
        raise ValueError("--experiment goes with --mlflow")
    if not getattr(args, "mlflow", False):
        return None
    from .share.sharing import read_shared_runs

    target, experiment = _sharing(session).target, args.experiment
    return lambda: read_shared_runs(target, experiment)


def _sharing(session):
    if session.sharing is None:
        raise ValueError(
            "MLflow is off: %config CarbonMagics.mlflow_tracking_uri = 'http://HOST:5000' "
            "(or set MLCOST_MLFLOW_TRACKING_URI) first"
        )
    return session.sharing


def status(args, session, shell, panels) -> None:
    print(session.status_text())


def table(args, session, shell, panels):
    comparison = _comparison(session, args)
    if comparison.what_if:
        comparison.frame.attrs["what_if"] = comparison.what_if
    frame = comparison.frame
    if session.sharing is not None and not args.mlflow:
        synced = frame["run_id"].isin(session.sharing.queue.synced_run_ids())
        frame.insert(frame.columns.get_loc("status") + 1, "synced", synced)
    return frame


def sync(args, session, shell, panels) -> None:
    """Push the runs that wait for MLflow now; progress on a long backlog; the counts."""
    sharing = _sharing(session)
    waiting = sharing.queue.counts()["waiting"]
    handle = None
    if waiting > SYNC_PROGRESS_FROM_RUNS:
        from IPython.display import display

        handle = display(f"syncing {waiting} runs…", display_id=True)

    def progress(result) -> None:
        if handle is not None:
            handle.update(f"synced {result.pushed + result.found} of {waiting} runs…")

    result, left, adopted = sharing.sync(progress, adopt_all=args.all)
    synced = sharing.queue.counts()["synced"]
    parts = [f"{result.pushed} logged now"]
    if result.found:
        parts.append(f"{result.found} found there already (not logged twice)")
    if result.rejected:
        parts.append(f"{result.rejected} refused by the server")
    if adopted:
        parts.append(f"{adopted} earlier runs queued by --all")
    where = f"{sharing.target.display_uri}, experiment {sharing.target.experiment}"
    text = f"{synced} run{'s' * (synced != 1)} synced to {where} ({', '.join(parts)}); "
    text += f"{left} waiting"
    if result.error:
        text += f"; stopped: {result.error} (retried in the background)"
    if handle is not None:
        handle.update(text)
    else:
        print(text)
    for shown in panels:
        if shown.shared:
            shown.reload()


SYNC_PROGRESS_FROM_RUNS = 100


def export(args, session, shell, panels) -> None:
    from .store.export import export_runs

    path = export_runs(session.to_frame(all_sessions=args.all), args.path)
    print(f"Wrote {path}")


SHARED_PANEL_REFRESH_S = 10.0


def panel(args, session, shell, panels) -> None:
    from .views.panel import show_panel

    source = _shared_source(session, args)  # its first read (in show_panel) fails in one line
    shown = show_panel(session, shell, source, SHARED_PANEL_REFRESH_S if source else None)
    if shown is not None:
        panels.append(shown)


def plot(args, session, shell, panels):
    from .views.figure import plot_tradeoffs

    save = None if args.save is None else Path(args.save).expanduser()
    suffix = save.name.rsplit(".", 1)[-1].lower() if save and "." in save.name else ""
    if save is not None and suffix not in FIGURE_SUFFIXES:
        raise ValueError(f"--save needs a .png, .svg or .pdf path, got {args.save!r}")
    if args.by == "host":  # the hardware comparison: labels run on more than one host
        from .compare.hosts import host_comparison
        from .views.hosts import plot_hosts

        figure = plot_hosts(host_comparison(_rows(session, args)))
    elif args.size:
        from .views.bubbles import plot_bubbles

        figure = plot_bubbles(_comparison(session, args))  # ValueError (one line) if empty
    else:
        figure = plot_tradeoffs(_comparison(session, args))
    _render_figures_as_png(shell)
    if save is not None:
        try:
            figure.savefig(save, format=suffix, bbox_inches="tight")
        except OSError as error:
            raise ValueError(f"cannot write {str(save)!r}: {error.strerror or error}") from None
        print(f"Wrote {save}")
    return figure


def report(args, session, shell, panels) -> None:
    from .views.report import write_report

    if not args.path.lower().endswith((".html", ".htm")):
        raise ValueError(f"needs an .html path, got {args.path!r}")
    path = write_report(_comparison(session, args), args.path, session.describe())
    print(f"Wrote {path}")


def _render_figures_as_png(shell) -> None:
    """Let Out[n] show a returned Figure even where matplotlib's inline backend never
    loaded (we draw without pyplot); a formatter the user already has is left alone."""
    from matplotlib.figure import Figure

    from .views.figure import figure_to_png_bytes

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, lambda figure: figure_to_png_bytes(figure, dpi=100))


def whatif(args, session, shell, panels):
    """The runs' CO2 at other locations: prints the sentence and the sources, returns the
    frame (or, with --plot, the bar chart)."""
    from .compare.whatif import whatif as what_if

    result = what_if(session.read_runs(args.all), args.locations, metric=args.metric)
    figure = None
    if args.plot:
        from .views.whatif import plot_whatif

        figure = plot_whatif(result)
        _render_figures_as_png(shell)
    print(result.sentence)
    for line in result.sources.values():
        print(f"  {line}")
    return result.frame if figure is None else figure


def auto(args, session, shell, panels) -> None:
    magics = shell._mlcost_magics  # the trait is the one switch (c.CarbonMagics.auto too)
    if args.state is not None:
        magics.auto = args.state == "on"
    state = "on: every cell is measured" if magics.auto else "off"
    print(f"auto mode {state}; {totals_text(session.totals())}")


def budget(args, session, shell, panels) -> None:
    from .budget import Budget

    if args.amount is not None:
        session.budget = None if args.amount.lower() == "off" else Budget.parse(args.amount)
        if session.budget is not None:
            session.budget.check(session.used[session.budget.kind])
    if session.budget is None:
        print("no budget set (e.g. %carbon budget 5g, or 10Wh)")
    else:
        print(f"{session.budget.describe()}: {session.budget_text()} used this session")


MAX_BASELINE_S = 3600.0


def baseline(args, session, shell, panels) -> float | None:
    """Idle package power over SECONDS, offered as the static figure; where RAPL cannot be
    read, one line that says so, and nothing measured."""
    from .measure.counters import idle_package_power_w, rapl_unreadable

    if not 0 < args.seconds <= MAX_BASELINE_S:
        raise ValueError(f"SECONDS must be more than 0 and at most 3600, got {args.seconds:g}")
    domains = session.hardware.rapl_domains
    if not domains:
        why = (
            "RAPL counters exist but are root-only here"
            if rapl_unreadable()
            else "no readable RAPL counters on this machine"
        )
        print(
            f"%carbon baseline: {why}, so nothing was measured; set the idle draw yourself "
            "(data sheet or wall meter): %config CarbonMagics.static_power_w = WATTS"
        )
        return None
    watts = idle_package_power_w(domains, args.seconds)
    print(
        f"idle package power {watts:.1f} W over {args.seconds:g} s (RAPL, whole machine); to "
        f"charge it to every run: %config CarbonMagics.static_power_w = {watts:.1f}"
    )
    return watts


COMMANDS = {
    "budget": budget,
    "baseline": baseline,
    "auto": auto,
    "status": status,
    "table": table,
    "export": export,
    "panel": panel,
    "plot": plot,
    "report": report,
    "whatif": whatif,
    "sync": sync,
}
