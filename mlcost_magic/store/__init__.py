"""Storage: the run schema, the SQLite ledger and export. Storage returns rows; it computes
no comparison (that is ``compare``) and imports nothing above it.
    schema.py   run and session columns, the SQL schema (one home)
    ledger.py   the durable SQLite ledger: write a run as it starts and ends, read rows back
    export.py   CSV/JSON export with CodeCarbon's emissions.csv column names
"""
