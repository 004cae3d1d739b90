"""The layout is the architecture: layers import only downward, modules stay small, the cheap
import stays cheap, every warning is an MlcostWarning, the 0.1 module paths still work."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import mlcost_magic

PACKAGE = Path(mlcost_magic.__file__).parent
MAX_MODULE_LINES = 400

# Lower number = lower layer; a module may import its own layer and the ones below.
LAYERS = {
    "_version": 0,
    "units": 0,
    "errors": 0,
    "measure": 1,
    "store": 2,
    "compare": 3,
    "share": 4,
    "views": 5,
    "run": 6,
    "tracking": 6,
    "session": 6,
    "repeats": 6,
    "budget": 6,
    "caps": 6,
    "magic_args": 7,
    "commands": 7,
    "magics": 7,
    "auto": 7,
    "tutorials": 8,
    "_compat": 9,
    "__init__": 9,
}
# The one upward import, in a shim that goes in 0.3 (store's deprecated Ledger.to_frame).
ALLOWED_UPWARD = {("store.ledger", "compare")}


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
    }


MODULES = set(_modules())


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def _imports(module: str, path: Path) -> set[str]:
    """Package-internal modules imported anywhere in the file (lazy imports included)."""
    package_parts = module.split(".")[:-1]
    if path.name == "__init__.py":
        package_parts = module.split(".")[:-1] if module != "__init__" else []
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package_parts[: len(package_parts) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            if target:
                found.add(target)
            else:  # `from . import x`: a module of the package, else a name of its __init__
                for alias in node.names:
                    inside = ".".join([*package_parts, alias.name])
                    found.add(
                        inside if inside in MODULES else ".".join([*package_parts, "__init__"])
                    )
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = (
                [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            )
            for name in names:
                if name and name.startswith("mlcost_magic."):
                    found.add(name.removeprefix("mlcost_magic."))
    return found


def test_every_module_belongs_to_a_layer_and_imports_only_downward():
    upward = []
    for module, path in _modules().items():
        for target in _imports(module, path):
            top = target.split(".")[0]
            assert top in LAYERS, f"{module} imports {target}, which is in no layer"
            allowed = any(module == m and target.startswith(t) for m, t in ALLOWED_UPWARD)
            if _layer(target) > _layer(module) and not allowed:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_modules_stay_small():
    long = {
        module: n
        for module, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_only_the_glue_and_views_import_ipython_and_only_the_panel_ipywidgets():
    ipython, widgets = set(), set()
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(n.split(".")[0] == "IPython" for n in names):
                ipython.add(module)
            if any(n.split(".")[0] == "ipywidgets" for n in names):
                widgets.add(module)
    assert ipython <= {"magics", "magic_args", "commands", "views.live", "views.panel"}
    assert widgets == {"views.panel"}


def test_import_mlcost_magic_loads_no_heavy_library():
    code = (
        "import sys, mlcost_magic\n"
        "heavy = {'IPython', 'pandas', 'matplotlib', 'codecarbon', 'ipywidgets', 'numpy'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_ext_imports_no_pandas_or_matplotlib():
    """`%load_ext` must stay cheap: the heavy libraries load when a table or figure is made."""
    code = (
        "import sys\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "shell = start_ipython()\n"
        "before = set(sys.modules)\n"  # the test shell itself imports matplotlib
        "shell.run_line_magic('load_ext', 'mlcost_magic')\n"
        "heavy = {'pandas', 'matplotlib', 'seaborn', 'ipywidgets', 'mlflow'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in set(sys.modules) - before}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_warning_class_of_the_package_is_an_mlcost_warning():
    from mlcost_magic import errors

    classes = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Warning"):
                classes.append(node.name)
    assert set(classes) == {
        "MlcostWarning",
        "MeasurementWarning",
        "MetricWarning",
        "LedgerWarning",
        "PanelWarning",
        "BudgetWarning",
        "ShareWarning",
    }
    for name in classes:
        assert issubclass(getattr(errors, name), mlcost_magic.MlcostWarning)
    assert issubclass(mlcost_magic.MlcostWarning, UserWarning)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("mlcost_magic.ledger", "mlcost_magic.store.ledger"),
        ("mlcost_magic.metrics", "mlcost_magic.compare.tradeoffs"),
        ("mlcost_magic.datasets", "mlcost_magic.tutorials.datasets"),
    ],
)
def test_old_module_paths_work_for_one_release_with_a_deprecation_warning(old, new):
    code = (
        "import importlib, warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    old = importlib.import_module({old!r})\n"
        f"new = importlib.import_module({new!r})\n"
        "print(old is new, new.__spec__.name, [str(w.message) for w in caught"
        " if w.category is DeprecationWarning])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"True {new} ["), out.stdout
    assert f"{old} moved to {new}" in out.stdout


def test_reading_a_ledger_through_the_deprecated_to_frame_still_works(ledger_path):
    from mlcost_magic.measure.settings import Settings
    from mlcost_magic.session import Session

    session = Session(Settings(ledger_path=ledger_path))
    with session.track("a", quiet=True) as run:
        run.log_metric("accuracy", 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = session.ledger.to_frame()
    session.close()
    assert any(w.category is DeprecationWarning for w in caught)
    assert frame["accuracy_per_g_co2"].notna().all()
