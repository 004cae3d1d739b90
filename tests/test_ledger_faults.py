"""The ledger keeps every run: corrupt files, unwritable paths, full disks, killed kernels."""

from __future__ import annotations

import sqlite3

import pytest

from mlcost_magic.errors import LedgerWarning
from mlcost_magic.measure.settings import Settings
from mlcost_magic.session import Session
from mlcost_magic.store.ledger import Ledger


def test_corrupt_ledger_is_moved_aside_never_overwritten(ledger_path):
    garbage = b"this is not a database" * 100
    ledger_path.write_bytes(garbage)
    with pytest.warns(LedgerWarning, match=f"ledger {ledger_path} is corrupt.*moved it to"):
        session = Session(Settings(ledger_path=ledger_path))
    moved = [p for p in ledger_path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_bytes() == garbage
    with session.track("after", quiet=True):
        pass
    assert list(Ledger(ledger_path).read_runs().label) == ["after"]
    session.close()


def test_unwritable_ledger_warns_once_and_keeps_runs_in_memory(isolated_env):
    blocker = isolated_env / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.warns(LedgerWarning, match="cannot write ledger.*kept in memory") as caught:
        session = Session(Settings(ledger_path=blocker / "ledger.sqlite"))
        for name in ("a", "b"):
            with session.track(name, quiet=True):
                pass
    assert len([w for w in caught if issubclass(w.category, LedgerWarning)]) == 1
    assert list(session.to_frame().label) == ["a", "b"]
    assert "NOT WRITABLE" in session.status_text()
    session.close()


def test_disk_full_mid_session_keeps_earlier_and_later_runs(ledger_path):
    session = Session(Settings(ledger_path=ledger_path))
    with session.track("before", quiet=True):
        pass
    pages = session.ledger._conn.execute("PRAGMA page_count").fetchone()[0]
    session.ledger._conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's SQLITE_FULL
    with pytest.warns(LedgerWarning, match="database or disk is full"):
        for i in range(30):
            with session.track(f"during {i}", quiet=True):
                pass
    frame = session.to_frame()
    assert frame.label.iloc[0] == "before" and len(frame) == 31
    assert set(frame.status) == {"ok"}
    session.close()


def test_running_run_of_a_dead_process_is_lost(ledger_path):
    import subprocess
    import sys

    code = (
        "import os, mlcost_magic\n"
        "with mlcost_magic.track('done', quiet=True): pass\n"
        "t = mlcost_magic.track('killed', quiet=True)\n"
        "t.__enter__()\n"
        "os._exit(9)\n"  # dies mid-run, like a killed kernel
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    reader = Ledger(ledger_path)
    assert list(reader.read_runs().status) == ["ok", "running"]  # reading writes nothing
    session = Session(Settings(ledger_path=ledger_path))  # opening a session marks it
    frame = session.read_runs(all_sessions=True)
    session.close()
    reader.close()
    assert list(zip(frame.label, frame.status, strict=False)) == [
        ("done", "ok"),
        ("killed", "lost"),
    ]
    with sqlite3.connect(ledger_path) as conn:  # and it is written back, not just shown
        statuses = dict(conn.execute("SELECT label, status FROM runs"))
    assert statuses == {"done": "ok", "killed": "lost"}


def test_processes_creating_one_new_ledger_at_once_all_write_to_it(isolated_env):
    """Regression: switching a brand-new file to WAL raced and one process fell back to memory."""
    import subprocess
    import sys
    import time

    code = (
        "import sys, time, warnings\n"
        "from mlcost_magic.store.ledger import Ledger\n"
        "warnings.simplefilter('error')\n"  # a LedgerWarning fails the process
        "time.sleep(max(float(sys.argv[1]) - time.time(), 0))\n"  # all open at the same instant
        "ledger = Ledger(sys.argv[2], create=True)\n"
    )
    for attempt in range(8):
        path = isolated_env / f"new-{attempt}.sqlite"
        start_at = str(time.time() + 0.5)
        procs = [
            subprocess.Popen([sys.executable, "-c", code, start_at, str(path)]) for _ in range(3)
        ]
        assert [p.wait() for p in procs] == [0, 0, 0]


def test_reading_a_ledger_that_does_not_exist_is_an_error_not_an_empty_table(isolated_env):
    with pytest.raises(FileNotFoundError, match="no ledger at .*typo.sqlite"):
        Ledger(isolated_env / "typo.sqlite")
    assert not (isolated_env / "typo.sqlite").exists()
