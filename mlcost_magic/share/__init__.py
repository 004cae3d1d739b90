"""Sharing runs with an MLflow tracking server: a workshop class or a fleet of machines compares
its runs in one panel.

The local ledger stays the first, durable write. A run recorded while sharing is on carries its
target (``runs.share_target``); a background process (``pusher``) logs it to MLflow off the
cell's path, and ``mlflow_sync`` in the same ledger says which runs are synced, so none is lost
or logged twice (``queue``). ``server`` speaks MLflow's REST API through MLflow's own HTTP
layer and credentials, with our own timeouts; ``mlflow_rows`` maps a ledger row to an MLflow run
and back. Nothing here imports mlflow until a run is pushed or the shared runs are read.
"""
