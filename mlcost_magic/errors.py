"""Everything mlcost-magic warns about or refuses, under one base class each.

MlcostWarning (UserWarning)       catch or silence every warning of ours in one filter
├── MeasurementWarning            our measurement failed; the user's code ran as it would have
├── MetricWarning                 a --metric expression failed; the run is kept without it
├── LedgerWarning                 the ledger file could not be used as asked; runs are kept
├── PanelWarning                  the panel could not refresh; the cell's outcome stands
├── BudgetWarning                 the session crossed its %carbon budget (said once)
└── ShareWarning                  the MLflow server cannot be used; runs wait in the ledger
SettingsError (ValueError)        a setting cannot be used; one line that says why

warnings.filterwarnings("ignore", category=mlcost_magic.MlcostWarning)
"""

from __future__ import annotations

import warnings


class MlcostWarning(UserWarning):
    """Base of every warning mlcost-magic emits."""


class MeasurementWarning(MlcostWarning):
    """Our own measurement failed; the user's code ran (or failed) exactly as it would have."""


class MetricWarning(MlcostWarning):
    """A --metric expression failed or was not a number; the run is kept without it."""


class LedgerWarning(MlcostWarning):
    """The ledger could not be used as asked; runs are still kept (see the message)."""


class PanelWarning(MlcostWarning):
    """The comparison panel could not refresh or redraw; nothing else is affected."""


class BudgetWarning(MlcostWarning):
    """The session has used more than its ``%carbon budget``; said once."""


class ShareWarning(MlcostWarning):
    """The MLflow server cannot be used now; runs wait in the ledger (said once a session)."""


class SettingsError(ValueError):
    """A setting the user gave cannot be used; the message is one line that says why."""


def warn(message: str, category: type[MlcostWarning] = MeasurementWarning, stacklevel=3) -> None:
    """Warn with the package's prefix, so every warning of ours reads the same."""
    warnings.warn(f"mlcost-magic: {message}", category, stacklevel=stacklevel)
