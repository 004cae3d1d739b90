"""mlcost-magic: measure the energy and CO2 of notebook cells and scripts, built on CodeCarbon.

In a notebook: `%load_ext mlcost_magic`, then `%%carbon "Small RF" --metric accuracy=acc`.
In a script: `with mlcost_magic.track("Small RF") as run: ...; run.log_metric("accuracy", acc)`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "Ledger",
    "current_session",
    "load_ipython_extension",
    "log_metric",
    "track",
    "track_inference",
    "unload_ipython_extension",
]


def __getattr__(name: str):
    # Keep `import mlcost_magic` cheap: load the machinery on first use.
    if name in ("track", "log_metric", "track_inference", "current_session"):
        from . import session

        return getattr(session, name)
    if name == "Ledger":
        from .ledger import Ledger

        return Ledger
    raise AttributeError(f"module 'mlcost_magic' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unload

    unload(ipython)
