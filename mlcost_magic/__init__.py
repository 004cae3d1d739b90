"""mlcost-magic: measure the energy and CO2 of notebook cells and scripts, built on CodeCarbon.

In a notebook: ``%load_ext mlcost_magic``, then ``%%carbon "Small RF" --metric accuracy=acc``.
In a script: ``with mlcost_magic.track("Small RF") as run: ...; run.log_metric("accuracy", acc)``.
``mlcost_magic.model_size(model)`` counts what a fitted model stores (``--size``, ``run.log_size``).

The data path of one run, as the layout shows it:
    magics.py            the cell (IPython glue: %%carbon, %carbon, settings as traits)
    measure/             counters, hardware, CodeCarbon data, settings -> the meter
    tracking.py, run.py  one run's life (start, measure, end) and its record
    session.py           what a kernel's runs share (meter, ledger, listeners)
    store/               the ledger: rows in, rows out
    compare/             derived trade-off columns, aggregates: the comparison, once
    views/               table, figure, report, panel, live meter, status
    tutorials/           tutorial data and the headless notebook runner (extra: tutorials)
"""

from __future__ import annotations

from . import _compat
from ._version import __version__ as __version__
from .errors import MlcostWarning

__all__ = [
    "Ledger",
    "MlcostWarning",
    "compare",
    "current_session",
    "load_ipython_extension",
    "log_metric",
    "log_size",
    "model_size",
    "repeat",
    "track",
    "track_inference",
    "unload_ipython_extension",
]

_compat.install()


def __getattr__(name: str):
    # Keep `import mlcost_magic` cheap: load the machinery on first use.
    if name in ("track", "log_metric", "log_size", "track_inference", "current_session", "repeat"):
        from . import session

        return getattr(session, name)
    if name == "model_size":
        from .measure.model_size import model_size

        return model_size
    if name == "Ledger":
        from .store.ledger import Ledger

        return Ledger
    if name == "compare":
        from .compare.comparison import compare

        return compare
    raise AttributeError(f"module 'mlcost_magic' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unload

    unload(ipython)
