"""IPython glue: the %%carbon cell magic, the %carbon line magic and their configuration.

The cell runs the way %%time runs it (compiled here, executed in the user namespace), so its last
expression is still Out[n], a trailing ';' silences it, and the user's exception propagates once,
with tracebacks pointing at the user's own lines.
"""

from __future__ import annotations

import argparse
import ast
import math
import shlex
import warnings

from IPython.core.displayhook import DisplayHook
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import (
    MagicArgumentParser,
    argument,
    magic_arguments,
    parse_argstring,
)
from traitlets import Bool, Float, TraitError, Unicode, observe

from .session import Run, Session, activate, check_metric
from .settings import Settings, SettingsError


class MetricWarning(UserWarning):
    """A --metric expression failed or was not a number; the run is kept without it."""


def _split_pair(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise UsageError(f"{what} must look like NAME=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _unquote(text: str) -> str:
    """magic_arguments keeps quotes: '"Small RF"' -> 'Small RF' (an apostrophe stays as typed)."""
    try:
        return " ".join(shlex.split(text)).strip()
    except ValueError:
        return text.strip()


def _line_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="%carbon", add_help=False)
    commands = parser.add_subparsers(dest="command", parser_class=MagicArgumentParser)
    table = commands.add_parser("table", help="the ledger as a DataFrame (this session)")
    table.add_argument("--all", action="store_true", help="every session in the ledger")
    commands.add_parser("status", help="method, constants, carbon intensity, ledger, session")
    export = commands.add_parser("export", help="write the ledger to PATH (.csv or .json)")
    export.add_argument("path")
    export.add_argument("--all", action="store_true", help="every session in the ledger")
    commands.add_parser("panel", help="the live comparison panel (table and trade-off plots)")
    plot = commands.add_parser("plot", help="the four-panel trade-off figure")
    plot.add_argument("--save", metavar="PATH", help="also write it (PNG, SVG or PDF)")
    plot.add_argument("--metric", help="quality metric (default: accuracy, else the first)")
    report = commands.add_parser("report", help="write a self-contained HTML report")
    report.add_argument("path")
    report.add_argument("--all", action="store_true", help="every session in the ledger")
    report.add_argument("--metric", help="quality metric (default: accuracy, else the first)")
    return parser


@magics_class
class CarbonMagics(Magics):
    """Measure the energy and CO2 of cells. Settings (``%config CarbonMagics.NAME = VALUE``, or
    ``c.CarbonMagics.NAME`` in ipython_config.py) override MLCOST_* environment variables."""

    country_iso_code = Unicode(
        None, allow_none=True, help="ISO-3 country of the grid, e.g. 'FRA' (env MLCOST_COUNTRY)"
    ).tag(config=True)
    carbon_intensity_g_per_kwh = Float(
        None, allow_none=True, help="Your grid's carbon intensity; overrides the country's"
    ).tag(config=True)
    ledger_path = Unicode(
        None, allow_none=True, help="Ledger file (env MLCOST_LEDGER; ./mlcost_ledger.sqlite)"
    ).tag(config=True)
    pue = Float(None, allow_none=True, help="Power usage effectiveness (env MLCOST_PUE; 1.0)").tag(
        config=True
    )
    cpu_power_w_per_thread = Float(
        None, allow_none=True, help="Watts per busy CPU thread, instead of CodeCarbon's TDP table"
    ).tag(config=True)
    ram_power_w_per_gb = Float(
        None, allow_none=True, help="Watts per GB of resident memory (0.3725, Green Algorithms)"
    ).tag(config=True)
    live_meter = Bool(True, help="Show elapsed time and energy while a tracked cell runs").tag(
        config=True
    )

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        try:
            self.session = Session(self._settings())
        except SettingsError as error:
            raise UsageError(f"mlcost-magic: {error}") from None
        self.session.live_meter_enabled = self._live_meter_wanted()
        self._panels: list = []

    def _live_meter_wanted(self) -> bool:
        """Only a Jupyter kernel has a frontend that can show display updates."""
        return self.live_meter and getattr(self.shell, "kernel", None) is not None

    def _settings(self) -> Settings:
        return Settings(
            country_iso_code=self.country_iso_code or None,
            carbon_intensity_g_per_kwh=self.carbon_intensity_g_per_kwh,
            ledger_path=self.ledger_path or None,
            pue=self.pue,
            cpu_power_w_per_thread=self.cpu_power_w_per_thread,
            ram_power_w_per_gb=self.ram_power_w_per_gb,
        )

    @observe(
        "country_iso_code",
        "carbon_intensity_g_per_kwh",
        "ledger_path",
        "pue",
        "cpu_power_w_per_thread",
        "ram_power_w_per_gb",
        "live_meter",
    )
    def _settings_changed(self, change) -> None:
        session = getattr(self, "session", None)
        if session is None:
            return
        try:
            session.configure(self._settings())
        except SettingsError as error:
            # Undo the change so the session and the trait agree, then say why in one line.
            self.set_trait(change["name"], change["old"])
            raise TraitError(f"mlcost-magic: {error}") from None
        session.live_meter_enabled = self._live_meter_wanted()

    # -- %%carbon ---------------------------------------------------------------------------
    @magic_arguments()
    @argument("label", nargs="*", help="run label (default: 'cell N'); quote it or not")
    @argument("-q", "--quiet", action="store_true", help="print no summary line")
    @argument("-o", "--output", metavar="VAR", help="store the Run object in VAR")
    @argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="repeatable")
    @argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="after the cell, evaluate EXPR in the notebook and store it as metric NAME",
    )
    @argument("--inferences", type=int, metavar="N", help="an inference run of N predictions")
    @cell_magic("carbon")
    def carbon_cell(self, line: str, cell: str):
        """Measure this cell's energy (CPU, RAM, GPU), duration and CO2; record it in the ledger.

        Prints one line such as
        ``Small RF · 573 ms · 759 µWh (CPU 746, RAM 13.2, GPU 0) · 42.6 µg CO2e at 56.0 g/kWh
        (FRA) · accuracy 0.867 · estimated``. The cell runs as usual: its last expression is
        its output and its exceptions propagate. Inside the cell,
        ``mlcost_magic.log_metric(name, value)`` attaches a metric. See ``%carbon status`` for
        the method and constants.
        """
        __tracebackhide__ = True  # noqa: F841 (read by IPython's traceback formatter)
        args = parse_argstring(self.carbon_cell, line)
        label = _unquote(" ".join(args.label)) or f"cell {self.shell.displayhook.prompt_count}"
        tags = dict(_split_pair(t, "--tag") for t in args.tag)
        metrics = [_split_pair(m, "--metric") for m in args.metric]
        for name, expression in metrics:
            try:
                check_metric(name, 0.0)
                compile(expression, "<metric>", "eval")
            except (SyntaxError, ValueError) as error:
                raise UsageError(f"--metric {name}={expression}: {error}") from None
        if args.output is not None and not args.output.isidentifier():
            raise UsageError(f"-o needs a variable name, got {args.output!r}")
        if args.inferences is not None and args.inferences < 0:
            raise UsageError(f"--inferences must be >= 0, got {args.inferences}")
        body, last = self._compile(line, cell)

        def evaluate_metrics(run: Run) -> None:
            if run.status == "ok":
                for name, expression in metrics:
                    self._record_metric(run, name, expression)

        ns = self.shell.user_ns
        tracking = self.session.track(
            label,
            tags,
            quiet=args.quiet,
            after=evaluate_metrics,
            kind="inference" if args.inferences is not None else "training",
            inferences=args.inferences,
        )
        if args.output:
            ns[args.output] = tracking.run
        with tracking:
            exec(body, ns)
            value = eval(last, ns) if last is not None else None
        # IPython checks for a trailing ';' on the transformed cell (the magic call), not here.
        if last is None or DisplayHook.semicolon_at_end_of_expression(cell):
            return None
        return value

    def _compile(self, line: str, cell: str):
        """Compile the cell like %%time, under a name whose cached source is the whole cell, so
        tracebacks show the user's lines with the numbers they see."""
        source = self.shell.transform_cell(cell)
        tree = self.shell.compile.ast_parse(source)
        tree = self.shell.transform_ast(tree)
        ast.increment_lineno(tree, 1)  # the %%carbon line is line 1 of what the user sees
        filename = self.shell.compile.cache(
            f"%%carbon {line}\n{source}",
            self.shell.execution_count,
            raw_code=f"%%carbon {line}\n{cell}",
        )
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = self.shell.compile(ast.Expression(tree.body.pop().value), filename, "eval")
        body = self.shell.compile(tree, filename, "exec")
        return body, last

    def _record_metric(self, run: Run, name: str, expression: str) -> None:
        try:
            value = eval(expression, self.shell.user_ns)
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise ValueError(f"{value!r} is not a finite number")
            run.log_metric(name, float(value))
        except Exception as error:
            warnings.warn(
                f"mlcost-magic: --metric {name}={expression} failed ({type(error).__name__}: "
                f"{error}); run {run.label!r} recorded without it",
                MetricWarning,
                stacklevel=2,
            )

    # -- %carbon ----------------------------------------------------------------------------
    @line_magic("carbon")
    def carbon_line(self, line: str = ""):
        """Work with the ledger and the comparison of runs.

        %carbon status              method, constants, country and carbon intensity, ledger
        %carbon table [--all]       the ledger as a pandas DataFrame (this session; --all: every)
        %carbon export PATH [--all] write runs to PATH.csv (CodeCarbon's names) or PATH.json
        %carbon panel               live comparison panel: table and trade-off figure
        %carbon plot [--save PATH] [--metric NAME]   the four-panel trade-off figure
        %carbon report PATH.html [--all]             self-contained HTML report
        """
        from IPython.utils.process import arg_split

        words = arg_split(line, posix=True)
        if not words:
            words = ["status"]
        try:
            args = _line_parser().parse_args(words)
        except SystemExit:  # argparse's own --help path
            raise UsageError(_line_parser().format_help()) from None
        return getattr(self, f"_cmd_{args.command}")(args)

    def _cmd_status(self, args: argparse.Namespace) -> None:
        print(self.session.status_text())

    def _cmd_table(self, args: argparse.Namespace):
        return self.session.to_frame(all_sessions=args.all)

    def _cmd_export(self, args: argparse.Namespace) -> None:
        from .export import export_runs

        try:
            path = export_runs(self.session.to_frame(all_sessions=args.all), args.path)
        except ValueError as error:
            raise UsageError(f"%carbon export: {error}") from None
        print(f"Wrote {path}")

    def _cmd_panel(self, args: argparse.Namespace):
        from .panel import show_panel

        panel = show_panel(self.session, self.shell)  # None in a terminal: a text table
        if panel is not None:
            self._panels.append(panel)

    def _cmd_plot(self, args: argparse.Namespace):
        from .plots import plot_tradeoffs

        figure = plot_tradeoffs(self.session.to_frame(), metric=args.metric)
        self._render_figures_as_png()
        if args.save:
            suffix = args.save.rsplit(".", 1)[-1].lower() if "." in args.save else ""
            if suffix not in ("png", "svg", "pdf"):
                raise UsageError(f"--save needs a .png, .svg or .pdf path, got {args.save!r}")
            figure.savefig(args.save, bbox_inches="tight")
            print(f"Wrote {args.save}")
        return figure

    def _render_figures_as_png(self) -> None:
        """Let Out[n] show a returned Figure even where matplotlib's inline backend never
        loaded (we draw without pyplot); a formatter the user already has is left alone."""
        from matplotlib.figure import Figure

        from .plots import figure_to_png_bytes

        formatter = self.shell.display_formatter.formatters["image/png"]
        try:
            formatter.lookup_by_type(Figure)
        except KeyError:
            formatter.for_type(Figure, lambda figure: figure_to_png_bytes(figure, dpi=100))

    def _cmd_report(self, args: argparse.Namespace) -> None:
        from .report import write_report

        if not args.path.lower().endswith((".html", ".htm")):
            raise UsageError(f"%carbon report needs an .html path, got {args.path!r}")
        frame = self.session.to_frame(all_sessions=args.all)
        path = write_report(frame, args.path, self.session.describe(), metric=args.metric)
        print(f"Wrote {path}")

    def close(self) -> None:
        for panel in self._panels:
            try:
                panel.close()
            except Exception:
                pass
        self._panels.clear()
        self.session.close()


def load(shell) -> None:
    if getattr(shell, "_mlcost_magics", None) is not None:
        return  # loaded already: keep the session, its ledger and panels
    magics = CarbonMagics(shell=shell, config=shell.config)
    shell.register_magics(magics)  # also makes it a configurable for %config
    shell._mlcost_magics = magics
    activate(magics.session)


def unload(shell) -> None:
    magics = getattr(shell, "_mlcost_magics", None)
    if magics is None:
        return
    shell._mlcost_magics = None
    for kind in ("line", "cell"):
        table = shell.magics_manager.magics[kind]
        if getattr(table.get("carbon"), "__self__", None) is magics:
            del table["carbon"]
    shell.magics_manager.registry.pop(type(magics).__name__, None)
    shell.configurables[:] = [c for c in shell.configurables if c is not magics]
    from . import session as session_module

    if session_module._active_session is magics.session:
        activate(None)
    magics.close()
