"""Comparison: what the runs mean side by side (pure DataFrame in, results out).

tradeoffs.py    derived trade-off columns, Pareto front, best trade-off
aggregate.py    repeated runs of one label -> mean, spread, count
comparison.py   ``compare(rows)``: the analysis computed once per refresh, for every view
whatif.py       the same energy at other grids: locations, their sources, the what-if frame
pricing.py      rows re-priced at one location (``compare(rows, priced_at="POL")``)
"""

from __future__ import annotations


def __getattr__(name: str):
    if name in ("Comparison", "compare"):
        from . import comparison

        return getattr(comparison, name)
    raise AttributeError(f"module 'mlcost_magic.compare' has no attribute {name!r}")
