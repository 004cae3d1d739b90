"""Starting and waking the background pusher from a session (see ``pusher``).

It is started detached (a double fork), so it is not in the kernel's process tree: the
measurement of the user's cells never counts its CPU time, and it outlives the kernel only for
its last bounded attempt. Waking it is one non-blocking byte on a pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .pusher import URI_FOR_CHILD_ENV
from .target import Target

# Runs in a bare interpreter (-S: no site import): fork, let the parent exit at once, and
# become the pusher in a new session, so the kernel is not its parent.
_DETACH = (
    "import os, sys\n"
    "if os.fork():\n"
    "    os._exit(0)\n"
    "os.setsid()\n"
    "os.execv(sys.argv[1], [sys.argv[1], '-m', 'mlcost_magic.share.pusher'] + sys.argv[2:])\n"
)


class BackgroundPusher:
    def __init__(self, ledger_path: str, target: Target):
        env = {**os.environ, URI_FOR_CHILD_ENV: target.uri}
        read_end, self._write_end = os.pipe()
        try:
            launcher = subprocess.Popen(
                [
                    sys.executable,
                    "-S",
                    "-c",
                    _DETACH,
                    sys.executable,
                    ledger_path,
                    target.experiment,
                ],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
            launcher.wait(timeout=10)  # it exits right after the fork
        finally:
            os.close(read_end)
        os.set_blocking(self._write_end, False)

    def wake(self) -> None:
        """A run is waiting (never blocks: a full pipe already means 'wake up')."""
        if self._write_end is None:
            return
        try:
            os.write(self._write_end, b"\x01")
        except (BlockingIOError, BrokenPipeError, OSError):
            pass

    def stop(self) -> None:
        """Close the pipe: the pusher makes its last bounded attempt and exits."""
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None
