"""No network call at all: load the extension and run cells with every socket connect failing."""

from __future__ import annotations

import socket

import pytest
from conftest import run_cell, session_frame


@pytest.fixture
def no_network(monkeypatch):
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_cells_measure_without_any_network_call(ipython_shell, no_network, capsys):
    import time

    start = time.perf_counter()
    ipython_shell.run_line_magic("load_ext", "mlcost_magic")
    try:
        result = run_cell(ipython_shell, "%%carbon offline --metric accuracy=acc\nacc = 0.9")
        assert result.error_in_exec is None
        run_cell(ipython_shell, "%carbon status")
        frame = session_frame(ipython_shell)
    finally:
        ipython_shell.run_line_magic("unload_ext", "mlcost_magic")
    assert time.perf_counter() - start < 5  # no geo-IP wait anywhere
    assert no_network == []  # nothing even tried
    assert frame.status.tolist() == ["ok"] and frame.carbon_intensity_g_per_kwh[0] == 475.0
    assert "offline · " in capsys.readouterr().out
