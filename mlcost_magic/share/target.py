"""Where shared runs go (an MLflow tracking server and an experiment), and how that is shown.

The URI may carry credentials (``http://user:pass@host``); only its redacted form is ever
written down (the ledger's target key, status lines, warnings). MLflow's own credential
settings (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``, ``MLFLOW_TRACKING_TOKEN``) are read by
MLflow's HTTP layer; ``redact`` takes their values out of any text we show.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..errors import SettingsError

URI_ENV = "MLCOST_MLFLOW_TRACKING_URI"
EXPERIMENT_ENV = "MLCOST_MLFLOW_EXPERIMENT"
DEFAULT_EXPERIMENT = "mlcost-magic"
INSTALL_HINT = 'pip install "mlcost-magic[mlflow]"'
SECRET_ENV = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


@dataclass(frozen=True)
class Target:
    uri: str  # as given; may hold user:password@ (never written down)
    experiment: str = DEFAULT_EXPERIMENT

    @property
    def display_uri(self) -> str:
        return redact_uri(self.uri)

    @property
    def key(self) -> str:
        """What the ledger records a run's target as: 'http://host:5000#workshop-1'."""
        return f"{self.display_uri}#{self.experiment}"

    def with_experiment(self, experiment: str | None) -> Target:
        return self if not experiment else Target(self.uri, check_experiment(experiment))


def resolve_target(
    uri: str | None, experiment: str | None, env: Mapping[str, str] | None = None
) -> Target | None:
    """The explicit setting, else $MLCOST_MLFLOW_TRACKING_URI; None when sharing is off.
    Refused in one line (SettingsError): a URI that is not http(s), or no MLflow client."""
    env = os.environ if env is None else env
    raw = (uri or env.get(URI_ENV) or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            "mlflow_tracking_uri must be the http(s):// URL of an MLflow tracking server "
            f"(e.g. http://127.0.0.1:5000), got {redact_uri(raw)!r}"
        )
    if importlib.util.find_spec("mlflow") is None:
        raise SettingsError(f"logging runs to MLflow needs the MLflow client: {INSTALL_HINT}")
    name = experiment or env.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT
    return Target(raw.rstrip("/"), check_experiment(name))


def check_experiment(name: str) -> str:
    name = str(name).strip()
    if not name:
        raise SettingsError("mlflow_experiment must be a non-empty name")
    return name


def redact_uri(uri: str) -> str:
    """The URI without any user:password@ part."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def secrets(uri: str = "", env: Mapping[str, str] | None = None) -> list[str]:
    """Every secret that could reach a message: MLflow's password/token settings (environment
    or MLflow's credentials file) and a password inside the URI."""
    env = os.environ if env is None else env
    found = [env.get(name, "") for name in SECRET_ENV]
    found.append(urlsplit(uri).password or "")
    from .plain_http import credentials  # the environment's, else MLflow's credentials file

    found.append(credentials()[1] or "")
    return [s for s in found if len(s) >= 3]


def redact(text: str, uri: str = "") -> str:
    """Text with every known secret replaced by '***'."""
    for secret in secrets(uri):
        text = text.replace(secret, "***")
    return text
