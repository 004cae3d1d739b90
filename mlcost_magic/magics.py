"""IPython glue: the %%carbon cell magic, the %carbon line magic and their configuration.

The cell runs the way %%time runs it (compiled here, executed in the user namespace), so its last
expression is still Out[n], a trailing ';' silences it, and the user's exception propagates once,
with tracebacks pointing at the user's own lines.
"""

from __future__ import annotations

import ast
import contextlib

from IPython.core.displayhook import DisplayHook
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, TraitError, Unicode, observe

from .auto import AutoMeasure
from .caps import parse_limits
from .errors import SettingsError
from .magic_args import (
    HELP_WORDS,
    check_variable_name,
    line_parser,
    one_line,
    shorten,
    split_line,
    split_pair,
)
from .measure.settings import Settings
from .measure.threads import check_threads, limit_threads
from .repeats import check_repeats, run_repeats
from .run import check_inferences, check_metric_name
from .session import Session, activate, active_session
from .tracking import DeferredMetric, DeferredSize
from .views.frontend import jupyter_frontend


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
    static_power_w = Float(
        None, allow_none=True, help="Watts charged for a cell's wall time (idle draw; 0)"
    ).tag(config=True)
    mlflow_tracking_uri = Unicode(
        None,
        allow_none=True,
        help="Also log every run to this MLflow server (env MLCOST_MLFLOW_TRACKING_URI; off)",
    ).tag(config=True)
    mlflow_experiment = Unicode(
        None, allow_none=True, help="MLflow experiment (env MLCOST_MLFLOW_EXPERIMENT; mlcost-magic)"
    ).tag(config=True)
    live_meter = Bool(True, help="Show elapsed time and energy while a tracked cell runs").tag(
        config=True
    )
    auto = Bool(False, help="Measure every cell (a JupyterHub profile can turn it on)").tag(
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
        self.auto_measure = AutoMeasure(self.session, self.shell)
        if self.auto:
            self.auto_measure.start()

    @observe("auto")
    def _auto_changed(self, change) -> None:
        auto_measure = getattr(self, "auto_measure", None)
        if auto_measure is None:
            return
        if change["new"]:
            auto_measure.start()
        else:
            auto_measure.stop()

    def _live_meter_wanted(self) -> bool:
        """Only a Jupyter kernel has a frontend that can show display updates."""
        return self.live_meter and jupyter_frontend(self.shell)

    def _settings(self) -> Settings:
        return Settings(
            country_iso_code=self.country_iso_code or None,
            carbon_intensity_g_per_kwh=self.carbon_intensity_g_per_kwh,
            ledger_path=self.ledger_path or None,
            pue=self.pue,
            cpu_power_w_per_thread=self.cpu_power_w_per_thread,
            ram_power_w_per_gb=self.ram_power_w_per_gb,
            static_power_w=self.static_power_w,
            mlflow_tracking_uri=self.mlflow_tracking_uri or None,
            mlflow_experiment=self.mlflow_experiment or None,
        )

    @observe(
        "country_iso_code",
        "carbon_intensity_g_per_kwh",
        "ledger_path",
        "pue",
        "cpu_power_w_per_thread",
        "ram_power_w_per_gb",
        "static_power_w",
        "mlflow_tracking_uri",
        "mlflow_experiment",
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
    @argument(
        "--size",
        metavar="EXPR",
        help="after the cell, the model size: a count, or a fitted model (model_size sizes it)",
    )
    @argument("--inferences", type=int, metavar="N", help="an inference run of N predictions")
    @argument(
        "--repeat",
        type=int,
        metavar="N",
        help="run the cell N times, recorded as one group: mean ± sd and 95 %% CI; -o gets it",
    )
    @argument("--warmup", type=int, default=0, metavar="K", help="with --repeat: K unrecorded runs")
    @argument("--threads", type=int, metavar="N", help="run the cell on N CPU threads only")
    @argument("--max-co2", metavar="MASS", help="stop the cell at this CO2 (1g, 500mg)")
    @argument("--max-energy", metavar="ENERGY", help="stop the cell at this energy (10Wh)")
    @argument("--max-duration", metavar="TIME", help="stop the cell after this long (30s, 10m)")
    @no_var_expand
    @cell_magic("carbon")
    def carbon_cell(self, line: str, cell: str):
        """Measure this cell's energy (CPU, RAM, GPU), duration and CO2; record it in the ledger.

        Prints one line such as
        ``Small RF · 573 ms · 759 µWh (CPU 746, RAM 13.2, GPU 0) · 42.6 µg CO2e at 56.0 g/kWh
        (FRA) · accuracy 0.867 · estimated``. The cell runs as usual: its last expression is
        its output and its exceptions propagate. Inside the cell,
        ``mlcost_magic.log_metric(name, value)`` attaches a metric. See ``%carbon status`` for
        the method and constants.

        The line is split like a shell line: quote a label or an option value that has spaces
        (``--tag "note=two words"``, ``--metric "accuracy=evaluate(model, X, y)"``). An
        apostrophe between letters is text (``%%carbon Bob's RF``); any other ``'`` quotes, so
        write ``"students' RF"``. Outside quotes a backslash escapes the next character; ``#``
        is text. It is taken literally: ``{var}`` and ``$var`` are not expanded (as with
        ``%%time``). A line that cannot be used is refused in one line and the cell not run.
        """
        __tracebackhide__ = True  # noqa: F841 (read by IPython's traceback formatter)
        words = split_line(line)
        args, extra = self.carbon_cell.parser.parse_known_args(words)
        if extra:  # a label split by options, an unquoted value with spaces, a typo
            unknown = shorten(" ".join(word or "''" for word in extra))
            raise UsageError(
                f"unrecognized arguments: {unknown} (the label goes before or after the options, "
                "in one piece; quote a value with spaces; %%carbon? shows the help)"
            )
        label = " ".join(args.label).strip() or f"cell {self.shell.displayhook.prompt_count}"
        tags = dict(split_pair(t, "--tag") for t in args.tag)
        deferred = tuple(self._deferred_metric(m) for m in args.metric)
        args.deferred_size = None if args.size is None else self._deferred_size(args.size)
        output = check_variable_name(args.output)
        try:
            inferences = check_inferences(args.inferences)
        except ValueError as error:
            raise UsageError(f"--inferences: {error}") from None
        if args.repeat is not None or args.warmup:
            try:
                check_repeats(1 if args.repeat is None else args.repeat, args.warmup)
            except ValueError as error:
                raise UsageError(f"--{one_line(error)}") from None
        try:
            if args.threads is not None:
                check_threads(args.threads)
            args.limits = parse_limits(args.max_co2, args.max_energy, args.max_duration)
        except ValueError as error:
            raise UsageError(one_line(error)) from None
        body, last = self._compile(line, cell)
        limits = limit_threads(args.threads) if args.threads else contextlib.nullcontext()
        with limits:
            return self._run(args, label, tags, inferences, deferred, body, last, cell, output)

    def _run(self, args, label, tags, inferences, deferred, body, last, cell, output):
        """The cell as one run, or with --repeat N [--warmup K] as K + N runs of one group."""
        __tracebackhide__ = True  # noqa: F841
        ns = self.shell.user_ns

        def run_body():
            __tracebackhide__ = True  # noqa: F841
            exec(body, ns)
            return eval(last, ns) if last is not None else None

        options = {
            "kind": "inference" if inferences is not None else "training",
            "inferences": inferences,
            "deferred_metrics": deferred,
            "deferred_size": args.deferred_size,
            "threads": args.threads,
            "limits": args.limits,
        }
        if args.repeat is not None:
            values: list = []
            group = run_repeats(
                self.session,
                label,
                args.repeat,
                run_body,
                warmup=args.warmup,
                tags=tags,
                quiet=args.quiet,
                on_result=values.append,
                **options,
            )
            if output:
                ns[output] = group
            value = values[-1] if values else None
        else:
            tracking = self.session.track(label, tags, quiet=args.quiet, **options)
            if output:
                ns[output] = tracking.run
            with tracking:
                try:
                    value = run_body()
                finally:
                    tracking.disarm()  # no cap may arrive once the body is done (caps.py)
        # IPython checks for a trailing ';' on the transformed cell (the magic call), not here.
        if last is None or DisplayHook.semicolon_at_end_of_expression(cell):
            return None
        return value

    def _deferred_metric(self, text: str) -> DeferredMetric:
        """--metric NAME=EXPR, checked now (name, syntax), evaluated after the measurement."""
        name, expression = split_pair(text, "--metric")
        try:
            name = check_metric_name(name)
            code = compile(expression, "<--metric>", "eval")
        except (SyntaxError, ValueError) as error:
            # NAME=EXPR with a space was quoted already; an unquoted one was cut at a space.
            unquoted = isinstance(error, SyntaxError) and " " not in text
            hint = " (quote it if it has spaces)" if unquoted else ""
            why = (error.msg if isinstance(error, SyntaxError) else None) or one_line(error)
            raise UsageError(f"--metric {shorten(text)}: {why}{hint}") from None
        except (RecursionError, MemoryError):
            raise UsageError(f"--metric {shorten(text)}: too deeply nested to compile") from None
        namespace = self.shell.user_ns
        return DeferredMetric(name, expression, lambda: eval(code, namespace))

    def _deferred_size(self, expression: str) -> DeferredSize:
        """--size EXPR, compiled now, evaluated after the measurement (a count or a model)."""
        try:
            code = compile(expression, "<--size>", "eval")
        except SyntaxError as error:
            hint = " (quote it if it has spaces)" if " " not in expression else ""
            raise UsageError(f"--size {shorten(expression)}: {error.msg}{hint}") from None
        except (RecursionError, MemoryError, ValueError):
            raise UsageError(f"--size {shorten(expression)}: cannot be compiled") from None
        namespace = self.shell.user_ns
        return DeferredSize(expression, lambda: eval(code, namespace))

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

    # -- %carbon ----------------------------------------------------------------------------
    @no_var_expand
    @line_magic("carbon")
    def carbon_line(self, line: str = ""):
        """Work with the ledger and the comparison of runs.

        %carbon status              method, constants, country and carbon intensity, ledger,
                                    and this session's footprint so far
        %carbon auto [on|off]       measure every following cell (kind 'cell'), quietly
        %carbon budget [5g|10Wh|off]   a budget: every summary line says how much is used
        %carbon baseline [SECONDS]  idle package power (RAPL), offered as static_power_w
        %carbon table [--all] [--metric NAME] [--at LOCATION]   the runs as a pandas
                                    DataFrame (--all: every session), trade-off columns for
                                    NAME; --at: a what-if, CO2 priced at LOCATION
        %carbon export PATH [--all] write runs to PATH.csv (CodeCarbon's names) or PATH.json
        %carbon panel               live comparison panel: table and trade-off figure
        %carbon plot [--save PATH] [--metric NAME] [--at LOCATION]   the four-panel figure
        %carbon plot --size         the metric vs CO2, bubble area proportional to model size
        %carbon whatif [LOCATION ...] [--all] [--plot]   CO2 of the same runs on other grids
        %carbon report PATH.html [--all] [--metric NAME]   self-contained HTML report

        Quote paths with spaces or backslashes; ~ is your home folder. The line is taken
        literally ({var} and $var not expanded); a line that cannot be used is refused in one
        line.
        """
        from .commands import run_command

        words = split_line(line) or ["status"]
        if HELP_WORDS.intersection(words):
            print(line_parser().format_help())
            return None
        args = line_parser().parse_args(words)
        return run_command(args, self.session, self.shell, self._panels)

    def close(self) -> None:
        self.auto_measure.stop()
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
    if active_session() is magics.session:
        activate(None)
    magics.close()
