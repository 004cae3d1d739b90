"""Parsing the ``%%carbon`` and ``%carbon`` lines: shell-like words, NAME=VALUE pairs, the
``%carbon`` subcommands. Every refusal is one ``UsageError`` with a one-line message.

Quoting works as in a shell, for labels and option values alike: ``"Small RF"``,
``--tag "note=two words"``, ``--metric "accuracy=evaluate(model, X, y)"``. An apostrophe
between letters or digits is text, quoted or not (``%%carbon Bob's RF``, ``'it's mine'``); any
other ``'`` is a quote, so an unclosed one is refused: put such text in double quotes
(``"students' RF"``). Outside quotes a backslash escapes the next character, as in a shell, so
quote a Windows path (``'C:\\runs.csv'``). ``#`` is text, not a comment. The line is taken
literally: ``{var}`` and ``$var`` are not expanded (as with ``%%time``), so braces in a
``--metric`` expression stay Python.
"""

from __future__ import annotations

import keyword
import re
import shlex
import unicodedata

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

HELP_WORDS = frozenset({"-h", "--help"})


APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")  # Bob's, don't: text, not a quote


def split_line(line: str) -> list[str]:
    """Shell-like words. An apostrophe between letters or digits is text (Bob's RF); an
    unclosed quote, or a backslash ending the line, is refused."""
    free = (chr(c) for c in range(0xE000, 0xF900) if chr(c) not in line)
    placeholder = next(free, "'")  # a private-use character the line does not contain
    lexer = shlex.shlex(APOSTROPHE.sub(placeholder, line), posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # '#' is text here, not a comment
    try:
        words = list(lexer)
    except ValueError as error:  # shlex: "No closing quotation" or "No escaped character"
        if "escaped" in str(error):
            raise UsageError(
                f"the line ends in a backslash: {shorten(line)!r}: remove it, or quote it"
            ) from None
        raise UsageError(
            f"unclosed quote in {shorten(line)!r}: close it, or put text with an apostrophe "
            f'in double quotes ("students\' RF")'
        ) from None
    return [word.replace(placeholder, "'") for word in words]


def split_pair(text: str, option: str) -> tuple[str, str]:
    """'name=value' -> ('name', 'value'), both stripped and non-empty."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise UsageError(f"{option} must look like NAME=VALUE, got {shorten(text)!r}")
    return key.strip(), value.strip()


def check_variable_name(name: str | None) -> str | None:
    """A Python name, as Python reads it (NFKC: ``-o ﬁ`` is the variable ``fi``)."""
    if name is None:
        return None
    normal = unicodedata.normalize("NFKC", name)
    if not name.isidentifier() or keyword.iskeyword(normal):
        raise UsageError(f"-o needs a variable name, got {shorten(name)!r}")
    return normal


def shorten(text: str, limit: int = 80) -> str:
    """User text quoted in an error message, cut so the message stays one readable line."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


AT_HELP = "what-if: CO2 priced at this location (DEU, world, gcp:REGION); energy as measured"


def line_parser() -> MagicArgumentParser:
    """The ``%carbon`` subcommands (the help text of ``%carbon --help`` is built from it)."""
    parser = MagicArgumentParser(prog="carbon")  # its usage line adds the "%"
    commands = parser.add_subparsers(dest="command", parser_class=MagicArgumentParser)
    table = commands.add_parser("table", help="the ledger as a DataFrame (this session)")
    table.add_argument("--all", action="store_true", help="every session in the ledger")
    table.add_argument("--metric", help="metric the trade-off columns divide by")
    _shared_options(table)
    table.add_argument("--at", metavar="LOCATION", help=AT_HELP)
    commands.add_parser("status", help="method, constants, carbon intensity, ledger, session")
    budget = commands.add_parser("budget", help="a CO2 or energy budget for the session")
    budget.add_argument("amount", nargs="?", help="5g, 500mg, 2kg, 10Wh, 1kWh, or off")
    baseline = commands.add_parser("baseline", help="measure idle package power (RAPL)")
    baseline.add_argument("seconds", nargs="?", type=float, default=10.0, help="default 10")
    auto = commands.add_parser("auto", help="measure every following cell (on), or stop (off)")
    auto.add_argument("state", nargs="?", choices=("on", "off"), help="default: say which")
    export = commands.add_parser("export", help="write the ledger to PATH (.csv or .json)")
    export.add_argument("path")
    export.add_argument("--all", action="store_true", help="every session in the ledger")
    panel = commands.add_parser("panel", help="the live comparison panel (table and trade-offs)")
    _shared_options(panel)
    plot = commands.add_parser("plot", help="the four-panel trade-off figure")
    _shared_options(plot)
    plot.add_argument(
        "--by",
        choices=("label", "user", "host"),
        default="label",
        help="group by label (default) or user; host: duration, energy, power per machine",
    )
    plot.add_argument("--save", metavar="PATH", help="also write it (PNG, SVG or PDF)")
    plot.add_argument("--metric", help="quality metric (default: accuracy, else the first)")
    plot.add_argument(
        "--size", action="store_true", help="the metric vs CO2, bubble area = model size"
    )
    plot.add_argument("--at", metavar="LOCATION", help=AT_HELP)
    report = commands.add_parser("report", help="write a self-contained HTML report")
    report.add_argument("path")
    report.add_argument("--all", action="store_true", help="every session in the ledger")
    report.add_argument("--metric", help="quality metric (default: accuracy, else the first)")
    report.add_argument("--at", metavar="LOCATION", help=AT_HELP)
    _shared_options(report)
    whatif = commands.add_parser("whatif", help="the runs' CO2 at other grids (same energy)")
    whatif.add_argument(
        "locations",
        nargs="*",
        metavar="LOCATION",
        help="ISO-3 country (DEU), world, or gcp:REGION; default: own, world, 3 lowest, 3 highest",
    )
    whatif.add_argument("--all", action="store_true", help="every session in the ledger")
    whatif.add_argument("--metric", help="metric shown alongside (default: accuracy, else first)")
    whatif.add_argument("--plot", action="store_true", help="the bar chart instead of the frame")
    sync = commands.add_parser("sync", help="push the runs waiting for MLflow now")
    sync.add_argument(
        "--all", action="store_true", help="also the ledger's runs from before MLflow was on"
    )
    return parser


def _shared_options(parser: MagicArgumentParser) -> None:
    parser.add_argument(
        "--mlflow", action="store_true", help="every run in the MLflow experiment (all users)"
    )
    parser.add_argument("--experiment", metavar="NAME", help="with --mlflow: another experiment")


def one_line(error: Exception) -> str:
    """The first line of an error's message (argparse and OS messages can run on)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
