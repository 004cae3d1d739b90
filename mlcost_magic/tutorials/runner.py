"""Run the tutorial notebooks headless in a real kernel and collect what they measured.

    python -m mlcost_magic.tutorials --output output/

For each notebook (default: every ``notebooks/*.ipynb``, in name order) this writes to the
output folder the executed notebook (widget state kept), the four-panel trade-off figure of
the runs it recorded (``<name>.png``) and an HTML report (``<name>.html``); then it prints each
notebook's comparison table, writes every run of this job to ``comparison.csv``, and the
headline comparison (notebook 01, the three Random Forest sizes of CodeCarbon's tutorial; see
``--headline``) as ``tradeoffs.png`` and ``report.html``.

Ledger: ``--ledger PATH``, else ``$MLCOST_LEDGER``, else ``<output>/mlcost_ledger.sqlite``. The
kernels run in the output folder, with ``MLCOST_LEDGER`` set to that path, so nothing is written
next to the notebooks. A ledger that already holds runs is kept; this job's tables, figures and
reports show only the sessions its own kernels opened.

Finite timeouts everywhere: per cell (``--cell-timeout``) and per notebook
(``--notebook-timeout``). The client polls the kernel's shell channel in one-second slices
instead of one long wait, which avoids nbclient's stall on a busy machine (jupyter/nbclient#312:
a missed execute reply made the client sit idle for its whole timeout).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .polling_client import sliced_polling_client

__all__ = [
    "DEFAULT_CELL_TIMEOUT_S",
    "DEFAULT_NOTEBOOK_TIMEOUT_S",
    "NotebookResult",
    "execute_notebook",
    "find_notebooks",
    "main",
    "resolve_ledger",
    "resolve_notebooks",
    "run_notebooks",
    "write_job_outputs",
]

DEFAULT_CELL_TIMEOUT_S = 300
DEFAULT_NOTEBOOK_TIMEOUT_S = 600
# The CodeCarbon model-comparison tutorial: its comparison is the job's headline figure/report.
DEFAULT_HEADLINE = "01_random_forest_sizes"
SOURCE_TREE = Path(__file__).resolve().parents[2]  # the checkout holding notebooks/


@dataclass
class NotebookResult:
    """What one notebook did: where its executed copy and artefacts are, and its runs."""

    name: str
    source: Path
    executed: Path
    wall_s: float
    error: str | None = None
    session_ids: list[str] = field(default_factory=list)
    figure: Path | None = None
    report: Path | None = None
    frame: Any = None  # the runs its kernel recorded (pandas DataFrame)

    @property
    def ok(self) -> bool:
        return self.error is None


def find_notebooks(directory: str | os.PathLike | None = None) -> list[Path]:
    """The tutorial notebooks: ``directory``, else ./notebooks, else the source tree's."""
    candidates = [Path(directory)] if directory else [Path("notebooks"), SOURCE_TREE / "notebooks"]
    for folder in candidates:
        found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
        if found:
            return found
    raise FileNotFoundError(f"no notebooks in {', '.join(str(c) for c in candidates)}")


def resolve_notebooks(names: list[str]) -> list[Path]:
    """Paths as given, or names/stems of the tutorial notebooks (``01``, ``01_random...``)."""
    if not names:
        return find_notebooks()
    tutorials = find_notebooks()
    chosen = []
    for name in names:
        if Path(name).is_file():
            chosen.append(Path(name))
            continue
        matches = [p for p in tutorials if p.name == name or p.stem.startswith(Path(name).stem)]
        if len(matches) != 1:
            known = ", ".join(p.name for p in tutorials)
            raise FileNotFoundError(f"no single notebook matches {str(name)!r} (known: {known})")
        chosen.append(matches[0])
    return chosen


def execute_notebook(
    path: str | os.PathLike,
    *,
    workdir: str | os.PathLike,
    env: dict[str, str] | None = None,
    cell_timeout_s: float = DEFAULT_CELL_TIMEOUT_S,
    notebook_timeout_s: float = DEFAULT_NOTEBOOK_TIMEOUT_S,
    kernel_name: str = "python3",
):
    """Execute a notebook in a fresh kernel; return ``(notebook, wall_s, error or None)``.

    The notebook comes back executed as far as it got, so a failing one can still be saved.
    ``env`` is the kernel's whole environment (default: this process's).
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = nbformat.read(path, as_version=4)
    client = sliced_polling_client()(
        notebook,
        timeout=int(cell_timeout_s),
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(workdir)}},
        store_widget_state=True,
        iopub_timeout=10,
        shutdown_kernel="graceful",
    )
    started = time.monotonic()
    client.notebook_deadline = started + notebook_timeout_s
    error = None
    try:
        client.execute(env=dict(os.environ if env is None else env))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as failure:
        error = f"{type(failure).__name__}: {failure}"
    return notebook, time.monotonic() - started, error


def resolve_ledger(
    output: Path, ledger_path: str | os.PathLike | None, env: dict[str, str]
) -> Path:
    """``ledger_path``, else ``$MLCOST_LEDGER``, else ``<output>/mlcost_ledger.sqlite``."""
    from ..store.ledger import resolve_ledger_path

    return resolve_ledger_path(ledger_path, env=env, folder=output)


def _session_ids(ledger_path: Path) -> set[str]:
    frame = _read_ledger(ledger_path)
    return set(frame["session_id"].dropna()) if frame is not None and len(frame) else set()


def _read_ledger(ledger_path: Path, session_ids: list[str] | None = None):
    """The ledger's runs (of these sessions), or None when no notebook has written one yet."""
    from ..store.ledger import Ledger

    if not ledger_path.exists():
        return None
    ledger = Ledger(ledger_path)
    try:
        ledger.mark_lost_runs()  # a notebook's kernel that died left its run 'running'
        frame = ledger.read_runs()
    finally:
        ledger.close()
    if session_ids is not None:
        frame = frame[frame["session_id"].isin(session_ids)]
    return frame


def _write_figure(frame, path: Path) -> Path:
    """The four-panel figure of the training runs (all runs when there are none)."""
    from ..compare.comparison import compare
    from ..views.figure import plot_tradeoffs

    training = frame[frame["kind"] == "training"] if "kind" in frame else frame
    figure = plot_tradeoffs(compare(training if len(training) else frame))
    figure.savefig(path, dpi=110)
    return path


def _write_report(frame, path: Path, ledger: Path, session_ids: list[str]) -> Path:
    from ..compare.comparison import compare
    from ..views.report import write_report

    description = {"ledger_path": str(ledger), "session_id": ", ".join(session_ids)}
    return write_report(compare(frame), path, description)


def run_notebooks(
    notebooks: list[Path],
    output: str | os.PathLike,
    *,
    ledger_path: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    cell_timeout_s: float = DEFAULT_CELL_TIMEOUT_S,
    notebook_timeout_s: float = DEFAULT_NOTEBOOK_TIMEOUT_S,
    kernel_name: str = "python3",
    artefacts: bool = True,
    stream: TextIO | None = None,
) -> list[NotebookResult]:
    """Execute ``notebooks`` one after the other (measurements must not overlap) into ``output``."""
    import nbformat

    stream = stream or sys.stdout
    output = Path(output).absolute()
    output.mkdir(parents=True, exist_ok=True)
    base_env = dict(os.environ if env is None else env)
    ledger = resolve_ledger(output, ledger_path, base_env)
    base_env["MLCOST_LEDGER"] = str(ledger)
    print(f"ledger: {ledger}", file=stream, flush=True)

    results = []
    for source in notebooks:
        source = Path(source)
        before = _session_ids(ledger)
        print(f"running {source.name} ...", file=stream, flush=True)
        notebook, wall_s, error = execute_notebook(
            source,
            workdir=output,
            env=base_env,
            cell_timeout_s=cell_timeout_s,
            notebook_timeout_s=notebook_timeout_s,
            kernel_name=kernel_name,
        )
        executed = output / source.name
        nbformat.write(notebook, executed)
        result = NotebookResult(source.name, source, executed, wall_s, error)
        result.session_ids = sorted(_session_ids(ledger) - before)
        result.frame = _read_ledger(ledger, result.session_ids)
        recorded = 0 if result.frame is None else len(result.frame)
        verdict = "ok" if result.ok else "FAILED"
        print(
            f"  {verdict} in {wall_s:.1f} s, {recorded} runs recorded",
            file=stream,
            flush=True,
        )
        if error:
            print(f"  {error.splitlines()[0]}", file=stream, flush=True)
        if artefacts and recorded:
            stem = source.stem
            try:
                result.figure = _write_figure(result.frame, output / f"{stem}.png")
                result.report = _write_report(
                    result.frame, output / f"{stem}.html", ledger, result.session_ids
                )
            except Exception as failure:  # an artefact must not hide the other notebooks
                result.error = result.error or f"artefacts: {type(failure).__name__}: {failure}"
                print(f"  could not write figure/report: {failure}", file=stream, flush=True)
        results.append(result)
    return results


def _job_frame(results: list[NotebookResult]):
    """Every run of this job, with the notebook it came from."""
    import pandas as pd

    frames = [
        result.frame.assign(notebook=result.name)
        for result in results
        if result.frame is not None and len(result.frame)
    ]
    return pd.concat(frames, ignore_index=True) if frames else None


def _headline(results: list[NotebookResult], headline: str | None) -> NotebookResult | None:
    """The notebook whose comparison becomes tradeoffs.png and report.html."""
    with_runs = [r for r in results if r.frame is not None and len(r.frame)]
    wanted = headline or DEFAULT_HEADLINE
    for result in with_runs:
        if Path(result.name).stem == Path(wanted).stem:
            return result
    return with_runs[0] if with_runs else None


def write_job_outputs(
    results: list[NotebookResult],
    output: Path,
    ledger: Path,
    stream: TextIO,
    headline: str | None = None,
) -> list[Path]:
    """Print each notebook's table; write comparison.csv (every run of the job) and the
    headline comparison's four-panel figure and report as tradeoffs.png and report.html."""
    from ..compare.comparison import compare
    from ..views.table import text_table

    for result in results:
        print(f"\n== {result.name} ({result.wall_s:.1f} s) ==", file=stream)
        if result.frame is None or result.frame.empty:
            print("no runs recorded", file=stream)
        else:
            print(text_table(compare(result.frame)), file=stream)
    written = []
    job = _job_frame(results)
    if job is not None:
        job.to_csv(output / "comparison.csv", index=False)
        written.append(output / "comparison.csv")
    chosen = _headline(results, headline)
    if chosen is not None:
        try:
            written.append(_write_figure(chosen.frame, output / "tradeoffs.png"))
            written.append(
                _write_report(chosen.frame, output / "report.html", ledger, chosen.session_ids)
            )
        except Exception as failure:
            print(f"could not write the headline figure/report: {failure}", file=stream)
    print(f"\nwritten to {output}:", file=stream)
    for result in results:
        paths = [result.executed, result.figure, result.report]
        names = ", ".join(p.name for p in paths if p is not None)
        verdict = "ok" if result.ok else f"FAILED ({result.error.splitlines()[0]})"
        print(f"  {result.name}: {verdict}; {names}", file=stream)
    if job is not None:
        print("  comparison.csv: every run of this job", file=stream)
    if chosen is not None:
        print(f"  tradeoffs.png, report.html: the comparison of {chosen.name}", file=stream)
    print(f"  ledger: {ledger}", file=stream)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlcost_magic.tutorials",
        description="Execute the tutorial notebooks headless and collect their measurements.",
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--output", "-o", type=Path, default=Path("output"))
    parser.add_argument("--ledger", type=Path, help="default: $MLCOST_LEDGER, else in --output")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT_S)
    parser.add_argument("--notebook-timeout", type=float, default=DEFAULT_NOTEBOOK_TIMEOUT_S)
    parser.add_argument("--kernel", default="python3", help="kernel name (default: python3)")
    parser.add_argument(
        "--headline",
        help=f"notebook whose comparison becomes tradeoffs.png/report.html "
        f"(default: {DEFAULT_HEADLINE}, else the first notebook with runs)",
    )
    parser.add_argument(
        "--allow-download",
        action="store_true",
        help="let the notebooks download EEG Eye State from OpenML (default: offline)",
    )
    args = parser.parse_args(argv)
    try:
        notebooks = resolve_notebooks(args.notebooks)
    except FileNotFoundError as error:
        parser.error(str(error))
    if args.headline and Path(args.headline).stem not in {Path(n).stem for n in notebooks}:
        parser.error(f"--headline {args.headline}: not one of the notebooks to run")
    env = dict(os.environ)
    if args.allow_download:
        env["MLCOST_ALLOW_DOWNLOAD"] = "1"
    results = run_notebooks(
        notebooks,
        args.output,
        ledger_path=args.ledger,
        env=env,
        cell_timeout_s=args.cell_timeout,
        notebook_timeout_s=args.notebook_timeout,
        kernel_name=args.kernel,
    )
    output = args.output.absolute()
    ledger = resolve_ledger(output, args.ledger, env)
    write_job_outputs(results, output, ledger, sys.stdout, headline=args.headline)
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
