"""Views: what a person sees. Each takes a ``compare.Comparison`` (computed once per refresh)
or a finished run; none computes the comparison again or writes to the store.
    table.py     the comparison table: HTML and plain text, one unit per column
    figure.py    the four-panel trade-off figure (pure Comparison -> matplotlib Figure)
    report.py    one self-contained HTML report
    panel.py     the ipywidgets panel (wiring only; redraws off the kernel's main thread)
    live.py      the live meter while a tracked cell runs
    status.py    the text of ``%carbon status`` and the session's footprint
    whatif.py    the region what-if as grouped bars
    frontend.py  is there a Jupyter frontend (the one rule)
"""
