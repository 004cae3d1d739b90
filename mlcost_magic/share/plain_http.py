"""MLflow's REST API over plain ``requests``, for the common case, without importing mlflow.

Importing mlflow costs 1.4-1.8 s (about 1,500 modules): too much for the first
``%carbon table --mlflow`` (1,000 runs within 3 s) and for the pusher's start. When the user's
MLflow settings are the plain ones, we honour them here exactly as MLflow's own HTTP layer
does (``mlflow/utils/rest_utils.py``): user and password (environment, else
``~/.mlflow/credentials``) as basic auth, else ``MLFLOW_TRACKING_TOKEN`` as a bearer token;
``MLFLOW_TRACKING_INSECURE_TLS``, ``MLFLOW_TRACKING_SERVER_CERT_PATH`` and
``MLFLOW_TRACKING_CLIENT_CERT_PATH`` for TLS. Anything else (an auth plugin, AWS SigV4,
mlflow already imported by the user's code) goes through MLflow's layer instead.
"""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path

ADVANCED_AUTH_ENV = ("MLFLOW_TRACKING_AUTH", "MLFLOW_TRACKING_AWS_SIGV4")
CREDENTIALS_FILE = Path("~/.mlflow/credentials")
_session = None


def plain_enough() -> bool:
    """True when these settings need nothing of MLflow's layer, and mlflow is not loaded."""
    if "mlflow" in sys.modules:  # already paid for: use MLflow's own layer
        return False
    return not any(_true(os.environ.get(name)) for name in ADVANCED_AUTH_ENV)


def _true(value: str | None) -> bool:
    return bool(value) and value.strip().lower() not in ("", "0", "false", "no")


def credentials() -> tuple[str | None, str | None]:
    """(username, password): the environment wins over MLflow's credentials file."""
    from_file: dict[str, str] = {}
    path = CREDENTIALS_FILE.expanduser()
    if path.exists():
        config = configparser.ConfigParser()
        config.read(path)
        if "mlflow" in config:
            from_file = dict(config["mlflow"])
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or from_file.get("mlflow_tracking_username")
    word = os.environ.get("MLFLOW_TRACKING_PASSWORD") or from_file.get("mlflow_tracking_password")
    return user, word


def send(uri: str, method: str, endpoint: str, body: dict | None, timeout_s: float):
    """One request, no retries; returns the ``requests.Response`` (raises requests' errors)."""
    global _session
    import requests

    if _session is None:
        _session = requests.Session()  # keep-alive between a push's three requests
    headers = {}
    user, password = credentials()
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if user and password:
        auth = (user, password)
    else:
        auth = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
    verify: bool | str = True
    if _true(os.environ.get("MLFLOW_TRACKING_INSECURE_TLS")):
        verify = False
    elif os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        verify = os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    payload = {"params": body} if method == "GET" else {"json": body or {}}
    return _session.request(
        method,
        uri.rstrip("/") + endpoint,
        headers=headers,
        auth=auth,
        verify=verify,
        cert=os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH") or None,
        timeout=timeout_s,
        **payload,
    )
