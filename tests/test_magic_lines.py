"""Every ``%%carbon`` / ``%carbon`` line a user can type is safe (property-based, hypothesis).

Lines are built from a grammar of realistic pieces (labels quoted or not, unicode, apostrophes,
``#``, ``{x}``, ``$x``, very long labels; ``-q``, ``-o VAR``, ``--tag K=V``, ``--metric
NAME=EXPR``, ``--inferences N``; ``%carbon`` subcommands, their options and paths) mixed with
noise (stray ``--``, ``=``, quotes, backslashes) and with fully random text. For a line built
only from known pieces the test also knows what it means (label, tags, metrics...) and checks
the recorded row against that; for any other line it checks the invariant: the line either runs
as documented, or it is refused with one ``UsageError`` whose message is one line, nothing is
recorded and the cell's body does not run; no other exception, no traceback printed.

Example counts: ``MLCOST_LINE_EXAMPLES`` scales them (e.g. 3 for a long local hunt) and
``MLCOST_LINE_RANDOM=1`` turns off ``derandomize`` (CI runs the same examples every time).
"""

from __future__ import annotations

import builtins
import keyword
import math
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cell
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import mlcost_magic
from mlcost_magic.errors import MetricWarning, MlcostWarning
from mlcost_magic.run import MAX_INFERENCES, RESERVED_METRIC_NAMES

SCALE = float(os.environ.get("MLCOST_LINE_EXAMPLES", "1"))
CELL_EXAMPLES = int(1600 * SCALE)
LINE_EXAMPLES = int(320 * SCALE)
EMPTY_LEDGER_EXAMPLES = int(60 * SCALE)
PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    derandomize=os.environ.get("MLCOST_LINE_RANDOM", "") != "1",
    print_blob=True,
)

# What str.splitlines() breaks on: none of these can be inside the line of a magic.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
PACKAGE_DIR = str(Path(mlcost_magic.__file__).parent)
BODY_RAN = "_mlcost_body_ran"
NAMESPACE = {"acc": 0.9, "model": object(), "x": [1, 2, 3], "y": [0, 1, 1]}
DEFINE_EVALUATE = "def evaluate(m, a, b):\n    return 0.8\n"
# Names an '-o VAR' of a known line never takes (they are what the lines read, or IPython's).
PROTECTED_NAMES = {*NAMESPACE, "evaluate", BODY_RAN, "get_ipython", "In", "Out", "exit", "quit"}
PROTECTED_NAMES |= set(dir(builtins))


# -- the outcome checker (shared by every test here) ------------------------------------------
def unexpected_warnings(caught) -> list[str]:
    """Warnings that are not ours; matplotlib's note that a font lacks a glyph (an emoji in a
    label) is allowed: the figure is drawn, with a box for that character."""
    return [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if not issubclass(w.category, MlcostWarning)
        and not re.match(r"Glyph \d+ .* missing from font", str(w.message))
    ]


def check_outcome(error, new_rows: int, printed: str, body_ran: bool | None = None) -> str:
    """'ok' or 'refused'; an AssertionError for anything else: another exception, a message of
    more than one line, a row recorded for a refused line, a traceback printed."""
    assert "Traceback (most recent call last)" not in printed, printed[-1500:]
    assert f'File "{PACKAGE_DIR}' not in printed, printed[-1500:]
    if error is None:
        assert new_rows in (0, 1), f"{new_rows} rows for one line"
        if body_ran is not None:  # a %%carbon line: its body ran and is recorded
            assert body_ran and new_rows == 1, (body_ran, new_rows)
        return "ok"
    assert type(error) is UsageError, f"{type(error).__name__}: {error}"
    message = str(error)
    assert message.strip() and len(message.splitlines()) == 1, f"not one line: {message!r}"
    assert new_rows == 0, f"refused ({message}) yet {new_rows} rows recorded"
    assert not body_ran, f"refused ({message}) yet the body ran"
    usage_lines = [line for line in printed.splitlines() if line.startswith("UsageError")]
    assert len(usage_lines) <= 1, usage_lines
    return "refused"


# -- text pieces ------------------------------------------------------------------------------
ANY_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters=LINE_BREAKS)
# Characters of an unquoted word: no whitespace the splitter splits on, no quote, no backslash.
WORD_CHAR = st.characters(
    blacklist_categories=("Cs",), blacklist_characters=LINE_BREAKS + " \t\"'\\"
)
SHELLISH = st.sampled_from(list(" \t-=\"'\\#{}$q~o.:,()") + ["--", "-q", "=", "é", "🎯"])
CURATED_WORDS = [
    "Small", "RF", "Bob's", "don't", "l'été", "rock'n'roll", "#1", "a#b", "{x}", "{acc}",
    "$x", "${x}", "$$", "a=b", "==", "🎯", "👩‍🔬", "שלום", "مرحبا", "e\u0301", "\u202eRTL",
    "\u200b", "100%", "<b>", "&amp;", "C:", "x/y", "()", "*", "!", ";", "|", "`ls`", "%%carbon",
    "\u00a0", "\u3000x", "ǅ", "ﬁ", "1", "-", "+5", "None",
]  # fmt: skip
NOISE = [
    "--", "-", "=", "==", '"', "'", "\\", "---", "--tag", "-o", "--metric", "--inferences",
    "-x", "--bogus", "-qo", "-oq", "-h", "--help", '"-q"', "'--tag'", '""', "''", "-q=1",
    "--quiet=yes", "--tag=", "--metric=", "--inferences=", '"unclosed', "'unclosed", "a\\",
    "\\ ", "-1", "--=", "--tag a=1 -", "-o=", "-- --", "'a'\"b\"", "\\'", '\\"',
]  # fmt: skip


def one_line_text(max_size: int = 60):
    return st.one_of(
        st.text(ANY_CHAR, max_size=max_size),
        st.lists(SHELLISH, max_size=max_size // 3).map("".join),
    )


plain_word = st.one_of(
    st.sampled_from(CURATED_WORDS),
    st.text(WORD_CHAR, min_size=1, max_size=10),
    st.builds(  # apostrophes between letters are text
        lambda a, b: f"{a}'{b}",
        st.from_regex(r"[A-Za-zé]{1,6}", fullmatch=True),
        st.from_regex(r"[a-z]{1,4}", fullmatch=True),
    ),
).filter(lambda word: not word.startswith("-"))  # a word starting with '-' is an option


@st.composite
def double_quoted(draw, content=None):
    """'"text"' with '\\' and '"' escaped; returns (typed, meant)."""
    text = draw(content if content is not None else st.text(ANY_CHAR, max_size=30))
    typed = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{typed}"', text


@st.composite
def single_quoted(draw, content=None):
    """ "'text'": no quote inside, except an apostrophe between letters (it's)."""
    text = draw(content if content is not None else st.text(ANY_CHAR, max_size=30))
    text = re.sub(r"'", "", text)
    if draw(st.booleans()):
        text = f"it's {text}"
    return f"'{text}'", text


@st.composite
def long_label_word(draw):
    """A label of a few hundred to ~5,000 characters, in one word or quoted with spaces."""
    size = draw(st.integers(200, 5000))
    if draw(st.booleans()):
        chunk = draw(st.sampled_from(["RF", "é", "🎯", "x", "Bob's", "שלום"]))
        word = (chunk * size)[:size].rstrip("'")  # "...Bob'" would open a quote
        return word, [word]
    chunk = draw(st.sampled_from(["Small RF ", "a b ", "🎯 ", "l'été ", "#{x} $y "]))
    text = (chunk * size)[:size]
    typed, meant = draw(double_quoted(st.just(text)))
    return typed, [meant]


def meant_word(typed_and_meant):
    typed, meant = typed_and_meant
    return typed, [meant]


label_word = st.one_of(
    plain_word.map(lambda w: (w, [w])),
    double_quoted().filter(lambda tm: not tm[1].startswith("-")).map(meant_word),
    single_quoted().filter(lambda tm: not tm[1].startswith("-")).map(meant_word),
    st.sampled_from([('""', [""]), ("''", [""]), ('"   "', ["   "])]),
)


@st.composite
def label_pieces(draw):
    """A label as one run of words: [(typed, ('label', words))]."""
    if draw(st.integers(0, 19)) == 0:
        typed, words = draw(long_label_word())
        return [(typed, ("label", words))]
    pieces = draw(st.lists(label_word, max_size=4))
    return [(typed, ("label", words)) for typed, words in pieces]


def quote_if_needed(text: str) -> str:
    """How a user would type a value: bare if it is one plain word, else in double quotes."""
    if text and re.fullmatch(r"[^\s\"'\\]+", text) and not text.startswith("-"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- options of %%carbon, each with what it means ---------------------------------------------
VALID_VARIABLES = ["run", "r1", "_r", "résultat", "Run2", "match", "case", "type", "λ", "ﬁ"]
INVALID_VARIABLES = ["1x", "a-b", "for", "class", "None", "lambda", "x.y", '""', "é-", "ｆｏｒ"]
identifier = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: not keyword.iskeyword(n) and n not in PROTECTED_NAMES
)


@st.composite
def quiet_option(draw):
    return draw(st.sampled_from(["-q", "--quiet", "--qui"])), ("quiet",)


@st.composite
def output_option(draw):
    form = draw(st.sampled_from(["-o {}", "--output {}", "--output={}", "-o{}"]))
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(INVALID_VARIABLES))
        if form == "-o{}" and name == '""':  # '-o' alone: argparse refuses, whatever follows
            return form.format(name), ("refuse", "-o")
        return form.format(name), ("output", name, False)  # checked if it is the last -o
    name = draw(st.one_of(st.sampled_from(VALID_VARIABLES), identifier))
    return form.format(name), ("output", name, True)


tag_text = st.one_of(
    st.sampled_from(["size", "note", "owner", "k", "🎯", "n°", "a b", " k ", "x=y", "{x}"]),
    st.text(ANY_CHAR, max_size=12),
)


@st.composite
def tag_option(draw):
    key, value = draw(tag_text), draw(tag_text)
    form = draw(st.integers(0, 9))
    if form == 0:
        pair = key.replace("=", "")  # no '=' at all
    elif form == 1:
        pair = f"{key}=={value}"
    else:
        pair = f"{key}={value}"
    if key.startswith("-") or (form == 0 and pair.startswith("-")):
        return f"--tag {quote_if_needed('k=' + value)}", ("tag", "k", value)
    typed = f"--tag={quote_if_needed(pair)}" if form == 3 else f"--tag {quote_if_needed(pair)}"
    name, sep, meant = pair.partition("=")
    if not sep or not name.strip() or not meant.strip():
        return typed, ("refuse", "--tag")
    return typed, ("tag", name, meant)


GOOD_METRIC_NAMES = ["accuracy", "acc", "f1", "top-5", "précision", "a b", "🎯", "rmse", "n°1"]
BAD_METRIC_NAMES = ["x'y", 'x"y', "a\\b", "'", "a\x01", "\x7f", *sorted(RESERVED_METRIC_NAMES)]
BAD_METRIC_NAMES += [
    "accuracy_per_g_co2",
    "emissions_kg_per_x_point",
    "energy_kwh_per_1k_inferences",
]
GOOD_EXPRESSIONS = [
    ("0.9", 0.9),
    ("acc", 0.9),
    ("evaluate(model, x, y)", 0.8),
    ("0.5*2", 1.0),
    ("1e-3", 0.001),
    ("-acc", -0.9),
    ("len(x)", 3.0),
    ("{'a': 0.3}['a']", 0.3),
    ("acc if acc else 0", 0.9),
    ("sum(y) / len(y)", 2 / 3),
]
FAILING_EXPRESSIONS = ["missing_name", "1/0", "x", "float('nan')", "True", "'text'", "None"]
FAILING_EXPRESSIONS += ["not " * 2000 + "1", "[" * 100 + "]" * 100, "10**400"]
BAD_EXPRESSIONS = [
    "1+", "(", "evaluate(model,", "x=1", "=1", "lambda", "import os", "a b", "yield 1",
    "await x", "1" * 5000, "-" * 20000 + "1", "(" * 300 + "1" + ")" * 300,
    "[" * 300 + "]" * 300, "f'{'", "1 if", "acc.",
]  # fmt: skip
# Whether these compile depends on the stack depth at hand (RecursionError): either is fine.
DEEP_EXPRESSIONS = ["-" * 3000 + "1", "1+" * 3000 + "1", "not " * 5000 + "x"]


@st.composite
def metric_option(draw):
    which = draw(st.integers(0, 9))
    name = draw(st.sampled_from(GOOD_METRIC_NAMES))
    if which == 0:
        name = draw(st.sampled_from(BAD_METRIC_NAMES))
        expression, effect = "0.5", ("refuse", "--metric name")
    elif which == 1:
        expression = draw(st.sampled_from(BAD_EXPRESSIONS))
        effect = ("refuse", "--metric expression")
        if draw(st.integers(0, 4)) == 0:
            expression, effect = draw(st.sampled_from(DEEP_EXPRESSIONS)), ("noise",)
    elif which == 2:
        expression = draw(st.sampled_from(FAILING_EXPRESSIONS))
        effect = ("metric", name, None)
    else:
        expression, value = draw(st.sampled_from(GOOD_EXPRESSIONS))
        effect = ("metric", name, value)
    spaces = draw(st.sampled_from(["", " ", "  "]))  # around the '=': stripped
    pair = f"{name}{spaces}={spaces}{expression}"
    if "'" in pair and '"' not in pair and "\\" not in pair:
        typed = f'"{pair}"'  # as a user would: the other kind of quote
    elif '"' in pair and "'" not in pair:
        typed = f"'{pair}'"
    else:
        typed = quote_if_needed(pair)
    prefix = draw(st.sampled_from(["--metric ", "--metric="]))
    return prefix + typed, effect


@st.composite
def inferences_option(draw):
    number = draw(
        st.one_of(
            st.integers(0, MAX_INFERENCES).map(str),
            st.integers(0, 10**6).map(str),
            st.integers(max_value=-1).map(str),
            st.integers(MAX_INFERENCES + 1).map(str),
            st.sampled_from(
                ["99999999999999999999", "abc", "1.5", "1e3", "0x10", "", " 7 ", "+5", "1_000"]
            ),
            st.sampled_from(["٣", "-0", "-.5", "٣٣٣", "Ⅻ", "5" * 5000, "nan", "inf"]),
        )
    )
    prefix = draw(st.sampled_from(["--inferences ", "--inferences=", "--inf "]))
    return prefix + quote_if_needed(number), ("inferences", number)


cell_option = st.one_of(
    quiet_option(), output_option(), tag_option(), metric_option(), inferences_option()
)
noise_piece = st.one_of(
    st.sampled_from(NOISE), one_line_text(20), double_quoted(one_line_text(20)).map(lambda t: t[0])
).map(lambda text: (text, ("noise",)))


@dataclass
class Meaning:
    """What a line built from known pieces means, as the docstrings describe it."""

    known: bool = True
    refused: bool = False
    words: list[str] = field(default_factory=list)
    quiet: bool = False
    output: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    absent_metrics: set[str] = field(default_factory=set)
    failing_metrics: int = 0
    inferences: int | None = None

    @property
    def label(self) -> str | None:
        """The label recorded: the words joined by a space and stripped; None: 'cell N'."""
        return " ".join(self.words).strip() or None


def meaning_of(effects) -> Meaning:
    meaning = Meaning()
    inferences, output_ok = None, True
    for effect in effects:
        kind = effect[0]
        if kind == "noise":
            meaning.known = False
        elif kind == "refuse":
            meaning.refused = True
        elif kind == "label":
            meaning.words += effect[1]
        elif kind == "quiet":
            meaning.quiet = True
        elif kind == "output":  # the last -o counts
            meaning.output, output_ok = effect[1], effect[2]
        elif kind == "tag":
            meaning.tags[effect[1].strip()] = effect[2].strip()
        elif kind == "metric":
            name, value = effect[1].strip(), effect[2]
            if value is None:
                meaning.failing_metrics += 1
                if name not in meaning.metrics:
                    meaning.absent_metrics.add(name)
            else:
                meaning.metrics[name] = value
                meaning.absent_metrics.discard(name)
        elif kind == "inferences":
            try:
                inferences = int(effect[1])  # what argparse's type=int accepts
            except ValueError:
                meaning.refused = True
    if inferences is not None and not 0 <= inferences <= MAX_INFERENCES:
        meaning.refused = True
    meaning.refused |= not output_ok
    meaning.inferences = inferences
    return meaning


SEPARATOR = st.sampled_from([" ", " ", " ", "  ", "\t", " \t "])


@st.composite
def cell_lines(draw):
    """(line, Meaning) for the line of a %%carbon cell."""
    if draw(st.integers(0, 9)) == 0:
        return draw(one_line_text(200)), Meaning(known=False)
    label = draw(label_pieces())
    options = draw(st.permutations(draw(st.lists(cell_option, max_size=6))))
    pieces = label + options if draw(st.booleans()) else options + label
    if draw(st.integers(0, 4)) == 0:
        for noise in draw(st.lists(noise_piece, min_size=1, max_size=2)):
            pieces.insert(draw(st.integers(0, len(pieces))), noise)
    separators = draw(st.lists(SEPARATOR, min_size=len(pieces), max_size=len(pieces)))
    line = "".join(sep + typed for sep, (typed, _effect) in zip(separators, pieces, strict=True))
    return line.lstrip(" "), meaning_of(effect for _typed, effect in pieces)


# -- %%carbon ---------------------------------------------------------------------------------
def prepare_namespace(shell) -> None:
    shell.user_ns.update(NAMESPACE)
    if "evaluate" not in shell.user_ns:
        shell.run_cell(DEFINE_EVALUATE)


def run_count(shell) -> int:
    return len(read_rows(shell))


ROWS_SEEN: dict[tuple[str, str], int] = {}  # (session, ledger) -> rows when last read
FRESH_LEDGER_AFTER = 100  # rows; reading a small ledger after every line keeps this fast


def read_rows(shell):
    session = shell._mlcost_magics.session
    rows = session.read_runs()
    ROWS_SEEN[session.session_id, str(session.ledger.path)] = len(rows)
    return rows


def rows_before(shell) -> int:
    """Rows of the session before the next line (nothing writes between two lines)."""
    session = shell._mlcost_magics.session
    seen = ROWS_SEEN.get((session.session_id, str(session.ledger.path)))
    if seen is not None and seen > FRESH_LEDGER_AFTER:
        path = Path.cwd() / f"ledger-{len(ROWS_SEEN)}.sqlite"
        shell._mlcost_magics.ledger_path = str(path)  # as %config would
        return rows_before(shell)
    return run_count(shell) if seen is None else seen


def run_carbon_cell(shell, capsys, line: str):
    """Run '%%carbon LINE' over a body that marks that it ran; (error, new rows, printed, ran,
    warnings). The namespace is put back as it was (an -o VAR is removed again)."""
    prepare_namespace(shell)
    namespace = shell.user_ns
    before = dict(namespace)
    namespace.pop(BODY_RAN, None)
    before_rows = rows_before(shell)
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_cell(shell, f"%%carbon {line}\n{BODY_RAN} = True")
    out, err = capsys.readouterr()
    ran = namespace.get(BODY_RAN, False)
    new = read_rows(shell).iloc[before_rows:]
    after = dict(namespace)
    for name in set(after) - set(before):
        if not re.fullmatch(r"_i?\d+", name):
            del namespace[name]
    namespace.update(before)  # an -o VAR may have replaced anything
    error = result.error_in_exec or result.error_before_exec
    return error, new, out + err, ran, caught, after


def check_meaning(meaning: Meaning, outcome: str, error, row, out: str, after, caught) -> None:
    """For a line built only from known pieces: what was recorded is what the line means."""
    if meaning.refused:
        assert outcome == "refused", f"ran a line that must be refused: {row.to_dict()}"
        return
    assert outcome == "ok", f"refused a valid line: {error}"
    if meaning.label is None:
        assert re.fullmatch(r"cell \d+", row.label), row.label
    else:
        assert row.label == meaning.label
    assert row.status == "ok" and pd.isna(row.error)
    assert row.tags == meaning.tags
    for name, value in meaning.metrics.items():
        assert math.isclose(row[name], value, rel_tol=1e-12), (name, row[name], value)
    for name in meaning.absent_metrics:
        assert name not in row.index or math.isnan(row[name]), (name, row[name])
    metric_warnings = [w for w in caught if issubclass(w.category, MetricWarning)]
    assert len(metric_warnings) == meaning.failing_metrics, [str(w.message) for w in caught]
    if meaning.inferences is None:
        assert row.kind != "inference" and pd.isna(row.inferences)
    else:
        assert row.kind == "inference" and row.inferences == meaning.inferences
    if meaning.quiet:
        assert out == ""
    else:
        assert out.startswith(f"{row.label} · "), out[:200]
    if meaning.output is not None:  # the name as Python reads it: '-o ﬁ' is fi
        assert after[unicodedata.normalize("NFKC", meaning.output)].run_id == row.run_id


@settings(PROPERTY, max_examples=CELL_EXAMPLES)
@given(case=cell_lines())
def test_every_cell_line_runs_as_documented_or_is_refused_in_one_line(shell, capsys, case):
    line, meaning = case
    error, new, printed, ran, caught, after = run_carbon_cell(shell, capsys, line)
    outcome = check_outcome(error, len(new), printed, ran)
    assert unexpected_warnings(caught) == []
    if meaning.known:
        row = new.iloc[0] if len(new) else None
        check_meaning(meaning, outcome, error, row, printed, after, caught)


# -- %carbon ----------------------------------------------------------------------------------
SUBCOMMANDS = ("status", "table", "export", "panel", "plot", "report")
SEEDED_METRICS = ("accuracy", "rmse", "a b", "précision", "top-5")
SEED_CELLS = [
    ("%%carbon -q A --metric accuracy=0.8 --metric rmse=0.3", "pass"),
    ("%%carbon -q B --metric accuracy=0.9 --metric 'a b=2' --metric précision=0.5", "pass"),
    ("%%carbon -q B --metric accuracy=0.85 --metric top-5=0.99", "pass"),
    ('%%carbon -q "🎯 שלום $x$ {y} <b>&amp;" --metric accuracy=0.7', "pass"),
    ("%%carbon -q " + "Very long label " * 300, "pass"),
    ("%%carbon -q failing", "1 / 0"),
    ("%%carbon -q served --inferences 1000 --metric accuracy=0.6", "pass"),
]
DIRECTORIES = ("existing", "dir.csv", "dir.html", "dir.png")


def seed(shell, tmp_path: Path) -> None:
    for line, body in SEED_CELLS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_cell(shell, f"{line}\n{body}")
    for name in DIRECTORIES:
        (tmp_path / name).mkdir()


@dataclass(frozen=True)
class PathCase:
    typed: str  # as on the line
    path: Path  # the file it names
    parent_exists: bool
    fits: bool  # a name the file system takes (<= 255 bytes) and not an existing folder


STEMS = ["out", "résumé", "📊", "with space", "R", "a" * 240, "a" * 300, "~/home", "existing/in"]
STEMS += ["missing/in", "missing/deeper/in", "dir"]
SUFFIXES = [".csv", ".json", ".CSV", ".html", ".htm", ".png", ".svg", ".pdf", ".PNG", ".xlsx"]
SUFFIXES += [".txt", "", ".csv.bak", ".html.png"]
PATH_CHAR = st.characters(
    blacklist_categories=("Cs",), blacklist_characters=LINE_BREAKS + "/\\~\x00"
)


@st.composite
def path_case(draw, tmp_path: Path, suffixes=SUFFIXES) -> PathCase:
    if draw(st.integers(0, 9)) == 0:
        stem = draw(
            st.text(PATH_CHAR, min_size=1, max_size=20).filter(
                lambda s: s.strip() and not s.startswith("-")  # '-x.csv' is an option
            )
        )
    else:
        stem = draw(st.sampled_from(STEMS))
    text = stem + draw(st.sampled_from(suffixes))
    if draw(st.integers(0, 9)) == 0 and not stem.startswith("~"):
        text = str(tmp_path / text)  # absolute
    typed = quote_if_needed(text)
    path = Path(os.path.expanduser(text))
    path = path if path.is_absolute() else tmp_path / path
    name_fits = len(path.name.encode()) <= 255 and all(
        len(part.encode()) <= 255 for part in path.parts
    )
    return PathCase(typed, path, path.parent.is_dir(), name_fits and not path.is_dir())


def _suffix(path: Path) -> str:
    return path.name.rsplit(".", 1)[-1].lower() if "." in path.name else ""


def write_ok(command: str, case: PathCase) -> bool:
    """Whether %carbon COMMAND writes the file the path names (the docstrings' rules)."""
    if not case.fits:
        return False
    if command == "export":
        return _suffix(case.path) in ("csv", "json") and case.parent_exists
    if command == "report":
        return _suffix(case.path) in ("html", "htm")  # folders are created
    return _suffix(case.path) in ("png", "svg", "pdf") and case.parent_exists


@st.composite
def metric_choice(draw):
    """(typed option or '', ok?) for --metric NAME."""
    if draw(st.booleans()):
        return "", True
    name = draw(st.sampled_from([*SEEDED_METRICS, "nope", "label", "energy_kwh", "", "🎯"]))
    return f"--metric {quote_if_needed(name)}", name in SEEDED_METRICS


@dataclass
class CommandCase:
    line: str
    expect: str | None  # 'ok', 'refused', 'help', or None: not known
    writes: PathCase | None = None


@st.composite
def command_lines(draw, tmp_path: Path):
    kind = draw(st.integers(0, 99))
    sep = draw(SEPARATOR)
    if kind < 25:  # random text, shell-ish noise
        return CommandCase(draw(one_line_text(80)), None)
    if kind < 40:  # wrong subcommands and options
        word = draw(st.sampled_from([*SUBCOMMANDS, "frobnicate", "Status", "stat", "", "tables"]))
        extra = draw(st.lists(st.sampled_from(NOISE + ["--all", "--metric", "x", "--save"])))
        line = sep.join([word or '""', *extra]).strip()
        return CommandCase(line, None)
    if kind < 48:  # help anywhere
        words = draw(st.lists(st.sampled_from([*SUBCOMMANDS, "--all", "x.csv"]), max_size=2))
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(["-h", "--help"])))
        return CommandCase(sep.join(words), "help")
    if kind < 54:
        extra = draw(st.sampled_from(["", "", "--all", "extra", "--metric accuracy"]))
        return CommandCase(f"status {extra}".strip(), "ok" if not extra else "refused")
    if kind < 66:
        flags = draw(st.lists(st.sampled_from(["--all", "--metric"]), unique=True))
        typed, ok = draw(metric_choice()) if "--metric" in flags else ("", True)
        words = ["table", *(f for f in flags if f != "--metric"), typed]
        return CommandCase(" ".join(w for w in words if w), "ok" if ok else "refused")
    if kind < 78:
        case = draw(path_case(tmp_path))
        all_flag = draw(st.sampled_from(["", " --all", " --metric accuracy"]))
        expect = "ok" if write_ok("export", case) and "metric" not in all_flag else "refused"
        return CommandCase(f"export {case.typed}{all_flag}", expect, case)
    if kind < 82:
        extra = draw(st.sampled_from(["", "", "--all"]))
        return CommandCase(f"panel {extra}".strip(), "ok" if not extra else "refused")
    if kind < 91:
        metric, metric_ok = draw(metric_choice())
        if draw(st.booleans()):
            case = draw(path_case(tmp_path, [".png", ".svg", ".pdf", ".PNG", ".gif", ""]))
            ok = metric_ok and write_ok("plot", case)
            return CommandCase(f"plot --save {case.typed} {metric}".strip(), _ok(ok), case)
        return CommandCase(f"plot {metric}".strip(), _ok(metric_ok))
    metric, metric_ok = draw(metric_choice())
    case = draw(path_case(tmp_path, [".html", ".htm", ".HTML", ".csv", ""]))
    all_flag = draw(st.sampled_from(["", " --all"]))
    ok = metric_ok and write_ok("report", case)
    return CommandCase(f"report {case.typed}{all_flag} {metric}".strip(), _ok(ok), case)


def _ok(ok: bool) -> str:
    return "ok" if ok else "refused"


def run_carbon_line(shell, capsys, line: str):
    before_rows = rows_before(shell)
    capsys.readouterr()
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            shell.run_line_magic("carbon", line)
        except Exception as raised:  # noqa: BLE001 (the checker says which are allowed)
            error = raised
    out, err = capsys.readouterr()
    return error, run_count(shell) - before_rows, out + err, caught


def check_command(shell, capsys, case: CommandCase) -> None:
    existed = case.writes is not None and os.path.lexists(case.writes.path)
    error, new_rows, printed, caught = run_carbon_line(shell, capsys, case.line)
    outcome = check_outcome(error, new_rows, printed)
    assert new_rows == 0, f"%carbon {case.line!r} recorded {new_rows} runs"
    assert unexpected_warnings(caught) == []
    if case.expect == "help":
        assert (
            outcome == "ok"
            and "%carbon" in printed
            and "{table," in printed
            and "%%carbon" not in printed
        )
    elif case.expect is not None:
        assert outcome == case.expect, f"%carbon {case.line!r}: {outcome} ({error})"
    if case.writes is not None:
        if outcome == "ok" and case.expect is not None:
            assert case.writes.path.is_file(), f"%carbon {case.line!r} wrote no {case.writes}"
            assert "Wrote " in printed
        if outcome == "refused" and not existed:
            assert not os.path.lexists(case.writes.path), f"refused, yet {case.writes.path}"


@pytest.fixture
def seeded(shell, isolated_env):
    seed(shell, isolated_env)
    return shell


@settings(PROPERTY, max_examples=LINE_EXAMPLES)
@given(data=st.data())
def test_every_carbon_line_runs_as_documented_or_is_refused_in_one_line(
    seeded, capsys, isolated_env, data
):
    case = data.draw(command_lines(isolated_env), label="case")
    check_command(seeded, capsys, case)


@settings(PROPERTY, max_examples=EMPTY_LEDGER_EXAMPLES)
@given(data=st.data())
def test_every_carbon_line_is_safe_on_an_empty_ledger(shell, capsys, isolated_env, data):
    case = data.draw(command_lines(isolated_env), label="case")
    if case.expect == "ok" and "--metric" in case.line:
        case.expect = "refused"  # no runs: no metric
    check_command(shell, capsys, case)


# -- the checker can fail, and the lines the old code got wrong --------------------------------
@pytest.mark.parametrize(
    "error, new_rows, printed, body_ran",
    [
        (UsageError("two\nlines"), 0, "", False),
        (UsageError("recorded anyway"), 1, "", False),
        (UsageError("ran anyway"), 0, "", True),
        (UsageError(""), 0, "", False),
        (ValueError("No closing quotation"), 0, "", False),
        (KeyError("nope"), 0, "", None),
        (None, 0, "", False),
        (None, 0, "", True),
        (None, 2, "", None),
        (None, 1, f'Traceback (most recent call last):\n  File "{PACKAGE_DIR}/x.py"', True),
    ],
)
def test_the_outcome_checker_flags_what_is_not_allowed(error, new_rows, printed, body_ran):
    with pytest.raises(AssertionError):
        check_outcome(error, new_rows, printed, body_ran)


@pytest.mark.parametrize(
    "line",
    [
        '"Small RF',
        "Small RF 'unclosed",
        "--tag 'note=two words",
        "trailing backslash\\",
        "--inferences 99999999999999999999",
        "--inferences -1",
        '--metric "x\'y=0.5"',
        "--metric label=0.5",
        "--metric 'acc=1+'",
        "--metric acc=" + "-" * 20000 + "1",
        "--metric acc=" + "(" * 300 + "1" + ")" * 300,
        "--metric acc=" + "1" * 5000,
        "-o for",
        "--tag =v",
    ],
)
def test_known_bad_cell_lines_are_refused_in_one_line(shell, capsys, line):
    error, new, printed, ran, _caught, _after = run_carbon_cell(shell, capsys, line)
    assert check_outcome(error, len(new), printed, ran) == "refused"
    assert run_count(shell) == 0


@pytest.mark.parametrize(
    "line, says",
    [
        ('"Small RF', "unclosed quote"),
        ("students' RF", "in double quotes"),
        ("trailing backslash\\", "ends in a backslash"),
        ("Small -q RF", "the label goes before or after the options"),
        ("RF --tag note=two words", "unrecognized arguments: words"),
        ('RF -q ""', "unrecognized arguments: ''"),
        ("--help", "%%carbon? shows the help"),
        ("--metric acc=1+", "invalid syntax (quote it if it has spaces)"),
        ('--metric "acc=1 +"', "--metric acc=1 +: invalid syntax"),
        ("--inferences 99999999999999999999", "from 0 to 2**53"),
        ("--metric acc=" + "-" * 20000 + "1", "too deeply nested"),
    ],
)
def test_refusals_say_why(shell, capsys, line, says):
    error, new, printed, ran, _caught, _after = run_carbon_cell(shell, capsys, line)
    assert check_outcome(error, len(new), printed, ran) == "refused"
    assert says in str(error)
    assert str(error).endswith("(quote it if it has spaces)") == (line == "--metric acc=1+")


@pytest.mark.parametrize(
    "line",
    [
        "plot --metric nope",
        "plot --metric label",
        "export " + "a" * 300 + ".csv",
        "plot --save " + "a" * 300 + ".png",
        "report " + "a" * 300 + ".html",
        "export missing/runs.csv",
        "plot --save missing/f.png",
        "export 'unclosed.csv",
        "--",
        '""',
    ],
)
def test_known_bad_carbon_lines_are_refused_in_one_line(seeded, capsys, isolated_env, line):
    before = user_files(isolated_env)
    error, new_rows, printed, _caught = run_carbon_line(seeded, capsys, line)
    assert check_outcome(error, new_rows, printed) == "refused" and new_rows == 0
    assert user_files(isolated_env) == before  # nothing half-written


def user_files(folder: Path) -> list[str]:
    """What a command could have written (not the ledger, not matplotlib's cache)."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if not any(part.startswith((".", "ledger.sqlite")) for part in p.relative_to(folder).parts)
    )


@pytest.mark.parametrize(
    "line, label, tags, metrics",
    [
        ('"Small RF" -q', "Small RF", {}, {}),
        ("Bob's and Alice's RF -q", "Bob's and Alice's RF", {}, {}),
        ("-q 'Small RF' owner's", "Small RF owner's", {}, {}),
        ("-q 'it's mine'", "it's mine", {}, {}),
        ("-q #1 {x} $x", "#1 {x} $x", {}, {}),
        ('-q --tag "note=two words"', None, {"note": "two words"}, {}),
        ("-q --tag k==v --tag 'a = b '", None, {"k": "=v", "a": "b"}, {}),
        ('-q --metric "accuracy=evaluate(model, x, y)"', None, {}, {"accuracy": 0.8}),
        ("-q --metric \"m={'a': 0.3}['a']\"", None, {}, {"m": 0.3}),
        ("-q --metric précision=0.5 --metric 🎯=acc", None, {}, {"précision": 0.5, "🎯": 0.9}),
        ("-q --inferences 1000 served", "served", {}, {}),
    ],
)
def test_what_a_line_means(shell, capsys, line, label, tags, metrics):
    error, new, printed, ran, _caught, _after = run_carbon_cell(shell, capsys, line)
    assert check_outcome(error, len(new), printed, ran) == "ok", error
    row = new.iloc[0]
    assert row.label == label if label else re.fullmatch(r"cell \d+", row.label)
    assert row.tags == tags
    if "--inferences" in line:
        assert (row.kind, row.inferences) == ("inference", 1000)
    else:
        assert pd.isna(row.inferences)
    assert {name: row[name] for name in metrics} == metrics


def test_output_variable_is_the_name_python_reads(shell, capsys):
    error, new, printed, ran, _caught, after = run_carbon_cell(shell, capsys, "-q -o ﬁ")
    assert check_outcome(error, len(new), printed, ran) == "ok"
    assert after["fi"].run_id == new.iloc[0].run_id and "ﬁ" not in after


def test_derived_column_names_are_refused_as_metric_names_as_compare_derives_them():
    from mlcost_magic.compare import tradeoffs
    from mlcost_magic.run import check_metric_name

    names = ["accuracy", "accuracy_per_g_co2", "inv_rmse_per_g_co2", "per_g_co2", "a b"]
    names += ["emissions_kg_per_accuracy_point", "emissions_kg_per__point", "x_point"]
    names += [*tradeoffs.INFERENCE_COLUMNS, "energy_kwh_per_1k", "f1_per_g_co2_x"]
    for name in names:
        try:
            check_metric_name(name)
            refused = False
        except ValueError:
            refused = True
        assert refused == tradeoffs.is_derived_column(name), name
