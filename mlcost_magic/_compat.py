"""The 0.1 module paths, kept for one release (removed in 0.3).

``import mlcost_magic.ledger`` (and the other 0.1 modules) still works: it gives the module at
its new place and a DeprecationWarning that names it. Nothing is imported until asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "mlcost_magic.counters": "mlcost_magic.measure.counters",
    "mlcost_magic.hardware": "mlcost_magic.measure.hardware",
    "mlcost_magic.codecarbon_data": "mlcost_magic.measure.codecarbon_data",
    "mlcost_magic.settings": "mlcost_magic.measure.settings",
    "mlcost_magic.meter": "mlcost_magic.measure.meter",
    "mlcost_magic.ledger": "mlcost_magic.store.ledger",
    "mlcost_magic.export": "mlcost_magic.store.export",
    "mlcost_magic.metrics": "mlcost_magic.compare.tradeoffs",
    "mlcost_magic.formatting": "mlcost_magic.views.table",
    "mlcost_magic.plots": "mlcost_magic.views.figure",
    "mlcost_magic.panel": "mlcost_magic.views.panel",
    "mlcost_magic.report": "mlcost_magic.views.report",
    "mlcost_magic.live": "mlcost_magic.views.live",
    "mlcost_magic.datasets": "mlcost_magic.tutorials.datasets",
    "mlcost_magic.notebook_runner": "mlcost_magic.tutorials.runner",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self) -> None:
        self._specs: dict[str, object] = {}  # the moved modules' own specs, to restore

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new_name = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new_name} in mlcost-magic 0.2; the old path goes in 0.3",
            DeprecationWarning,
            stacklevel=2,  # a warning from the import machinery: CPython skips its frames
        )
        module = importlib.import_module(new_name)
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # Already executed at its new place; the import system set our alias spec on it.
        module.__spec__ = self._specs.get(module.__spec__.name, module.__spec__)


_FINDER = _MovedModuleFinder()


def install() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
