"""The one rule for "is there a Jupyter frontend": a shell with a kernel (ipykernel's
ZMQInteractiveShell) can show display updates and render widgets; terminal IPython and plain
Python cannot, so the live meter stays off and the panel prints a text table there."""

from __future__ import annotations

import sys
from typing import Any

_NO_SHELL = object()


def jupyter_frontend(shell: Any = _NO_SHELL) -> bool:
    """True when ``shell`` (default: the running IPython, if any) is a Jupyter kernel's."""
    if shell is _NO_SHELL:
        ipython = sys.modules.get("IPython")  # never import IPython just to ask
        shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None
