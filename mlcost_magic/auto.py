"""Auto mode: ``%carbon auto on`` measures every following cell as a run of kind ``cell``.

Each cell is tracked from the shell's ``pre_run_cell`` to its ``post_run_cell`` event, quietly,
labelled by its first comment line or ``cell N``. Cells that are ``%%carbon`` cells or
``%carbon`` commands are left alone (they measure themselves, or are about the ledger). The
cell's own outcome is untouched: its exception is recorded as the run's status by the shell's
own result, and a failure of ours only warns. Runs tracked inside an auto-measured cell
(``track()`` blocks) record it as their parent, so the session's total counts them once.
"""

from __future__ import annotations

from typing import Any

from .errors import MeasurementWarning, warn

SKIPPED_PREFIXES = ("%%carbon", "%carbon")
MAX_LABEL_CHARS = 80


def cell_label(source: str, execution_count: int) -> str:
    """The cell's first comment line ('# fit the big forest' -> 'fit the big forest'), else
    'cell N'."""
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if text:
                return text[:MAX_LABEL_CHARS]
        break
    return f"cell {execution_count}"


def measures_itself(source: str) -> bool:
    return source.lstrip().startswith(SKIPPED_PREFIXES)


class AutoMeasure:
    """Measures every cell of ``shell`` into ``session`` while on."""

    def __init__(self, session: Any, shell: Any):
        self.session, self.shell = session, shell
        self.on = False
        self._tracking = None
        # Bound methods kept once: unregistering needs the very objects that were registered.
        self._pre, self._post = self._on_pre_run_cell, self._on_post_run_cell

    def start(self) -> None:
        if self.on:
            return
        self.on = True
        self.shell.events.register("pre_run_cell", self._pre)
        # First in line after the cell, so the panel's own post_run_cell sees the new run.
        self.shell.events.callbacks["post_run_cell"].insert(0, self._post)

    def stop(self) -> None:
        if not self.on:
            return
        self.on = False
        for event, callback in (("pre_run_cell", self._pre), ("post_run_cell", self._post)):
            try:
                self.shell.events.unregister(event, callback)
            except ValueError:
                pass

    def _on_pre_run_cell(self, info: Any = None) -> None:
        source = getattr(info, "raw_cell", "") or ""
        if self._tracking is not None or measures_itself(source):
            return
        try:
            # prompt_count is the cell's In[n] (execution_count is one ahead here), as %%carbon uses
            label = cell_label(source, self.shell.displayhook.prompt_count)
            tracking = self.session.track(label, quiet=True, kind="cell")
            tracking.__enter__()
            self._tracking = tracking
        except Exception as error:
            warn(f"auto mode could not start measuring the cell: {error}", MeasurementWarning)

    def _on_post_run_cell(self, result: Any = None) -> None:
        tracking, self._tracking = self._tracking, None
        if tracking is None:
            return
        error = None
        if result is not None:
            error = result.error_in_exec or result.error_before_exec
        try:
            tracking.__exit__(type(error) if error is not None else None, error, None)
        except Exception as failure:
            warn(f"auto mode could not record the cell: {failure}", MeasurementWarning)
