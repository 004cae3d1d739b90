"""`%carbon table --all` on a 10,000-run ledger, against a plain pandas read of the same table."""

from __future__ import annotations

import sqlite3
import sys
import time
import uuid

from _common import HEADER, fresh_ledger_env, median_ms, row

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def fill(shell, runs: int) -> None:
    """Real runs, then copies of them with fresh ids (fast to make, same shape)."""
    for i in range(20):
        shell.run_cell(f"%%carbon -q run{i % 4} --metric accuracy=0.9 --tag size={i % 3}\npass")
    session = shell._mlcost_magics.session
    conn = session.ledger._conn
    template = conn.execute("SELECT * FROM runs LIMIT 20").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM runs LIMIT 1").description]
    rows = []
    for n in range(runs - 20):
        copy = list(template[n % 20])
        copy[names.index("run_id")] = uuid.uuid4().hex
        rows.append(copy)
    conn.executemany(f"INSERT INTO runs VALUES ({','.join('?' * len(names))})", rows)


def main() -> None:
    fresh_ledger_env()
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "mlcost_magic")
    fill(shell, RUNS)
    path = shell._mlcost_magics.session.ledger.path
    import pandas as pd

    ours, plain = [], []
    for _ in range(7):
        start = time.perf_counter()
        frame = shell.run_line_magic("carbon", "table --all")
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        with sqlite3.connect(path) as conn:
            pd.read_sql_query("SELECT * FROM runs", conn)
        plain.append(time.perf_counter() - start)
    assert len(frame) == RUNS, len(frame)
    print(HEADER)
    print(
        row(
            f"`%carbon table --all` on a {RUNS:,}-run ledger (median of 7)",
            f"{median_ms(ours):.0f} ms",
            f"pandas.read_sql_query {median_ms(plain):.0f} ms",
            f"{median_ms(ours) / median_ms(plain):.1f}x plain read",
            "<= 200 ms",
        )
    )


if __name__ == "__main__":
    main()
