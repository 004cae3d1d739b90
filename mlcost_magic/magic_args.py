"""Parsing the ``%%carbon`` and ``%carbon`` lines: shell-like words, NAME=VALUE pairs, the
``%carbon`` subcommands. Every refusal is one ``UsageError`` with a one-line message.

Quoting works as in a shell, for labels and option values alike: ``"Small RF"``,
``--tag "note=two words"``, ``--metric "accuracy=evaluate(model, X, y)"``. An apostrophe in an
unquoted word is kept as typed (``%%carbon Bob's RF``). The line is taken literally: ``{var}``
and ``$var`` are not expanded (as with ``%%time``), so braces in a ``--metric`` expression stay
Python.
"""

from __future__ import annotations

import keyword
import shlex

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

HELP_WORDS = frozenset({"-h", "--help"})


def split_line(line: str) -> list[str]:
    """Shell-like words; an unclosed double quote is refused, a lone apostrophe is kept."""
    for quotes in ("\"'", '"'):
        lexer = shlex.shlex(line, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""  # '#' is text here, not a comment
        lexer.quotes = quotes
        try:
            return list(lexer)
        except ValueError:
            continue
    raise UsageError(f"unclosed quote in {_short(line)!r}: close it, or remove it")


def split_pair(text: str, option: str) -> tuple[str, str]:
    """'name=value' -> ('name', 'value'), both stripped and non-empty."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise UsageError(f"{option} must look like NAME=VALUE, got {_short(text)!r}")
    return key.strip(), value.strip()


def check_variable_name(name: str | None) -> str | None:
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"-o needs a variable name, got {_short(name)!r}")
    return name


def _short(text: str, limit: int = 80) -> str:
    """User text quoted in an error message, cut so the message stays one readable line."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_parser() -> MagicArgumentParser:
    """The ``%carbon`` subcommands (the help text of ``%carbon --help`` is built from it)."""
    parser = MagicArgumentParser(prog="%carbon")
    commands = parser.add_subparsers(dest="command", parser_class=MagicArgumentParser)
    table = commands.add_parser("table", help="the ledger as a DataFrame (this session)")
    table.add_argument("--all", action="store_true", help="every session in the ledger")
    table.add_argument("--metric", help="metric the trade-off columns divide by")
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


def one_line(error: Exception) -> str:
    """The first line of an error's message (argparse and OS messages can run on)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
