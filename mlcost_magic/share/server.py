"""MLflow's REST API, with MLflow's credentials and our timeouts: over plain ``requests`` in
the common case (``plain_http``: no 1.5 s mlflow import), else through MLflow's own HTTP layer.

Every request is made with no retries and a short timeout, whatever the user's MLflow
environment says: a refused port fails in milliseconds, a hung server in ``timeout_s``, and
the caller (the pusher) does the retrying, with backoff. Nothing is printed: this is the REST
layer, not the fluent API that prints "View run at ...". The user's own MLflow settings
(environment variables) are read, never changed.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Any

from . import mlflow_rows, plain_http
from .target import Target, redact

API = "/api/2.0/mlflow/"
REQUEST_TIMEOUT_S = 5.0  # the background pusher's: it retries anyway
WAITING_REQUEST_TIMEOUT_S = 30.0  # %carbon sync and reads, where the user chose to wait
SEARCH_PAGE_RUNS = 5000


class ServerError(Exception):
    """The server could not be used. ``run_level``: it refused this run (HTTP 400), so
    retrying will not help; otherwise the whole server is unavailable for now."""

    def __init__(self, reason: str, *, run_level: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.run_level = run_level


@contextlib.contextmanager
def _quiet_mlflow():
    """No MLflow warning or log record of WARNING and above while we call it, so nothing of
    ours lands in a cell; the user's own logging level is restored after."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


class MlflowServer:
    def __init__(self, target: Target, timeout_s: float = REQUEST_TIMEOUT_S):
        self.target = target
        self.timeout_s = timeout_s
        self._experiment_ids: dict[str, str] = {}

    # -- requests ---------------------------------------------------------------------------
    def _call(self, method: str, endpoint: str, body: dict | None = None) -> dict[str, Any]:
        try:
            if plain_http.plain_enough():
                response = plain_http.send(
                    self.target.uri, method, API + endpoint, body, self.timeout_s
                )
            else:
                response = self._send_through_mlflow(method, endpoint, body)
        except Exception as error:
            raise ServerError(self._reason(error)) from None
        if response.status_code != 200:
            raise self._http_error(response)
        return response.json() if response.content else {}

    def _send_through_mlflow(self, method: str, endpoint: str, body: dict | None):
        """MLflow's own HTTP layer: every auth setting and plugin of the user's MLflow."""
        with _quiet_mlflow():
            from mlflow.utils.credentials import get_default_host_creds
            from mlflow.utils.rest_utils import http_request

            return http_request(
                get_default_host_creds(self.target.uri),
                API + endpoint,
                method,
                max_retries=0,
                timeout=self.timeout_s,
                **({"params": body} if method == "GET" else {"json": body or {}}),
            )

    def _reason(self, error: BaseException) -> str:
        """A short cause: 'connection refused', 'no answer within 5 s', 'host not found'."""
        chain, seen = [], error
        while seen is not None:
            chain.append(f"{type(seen).__name__}: {seen}")
            seen = seen.__cause__ or seen.__context__
        text = " ".join(chain).lower()
        if "refused" in text:
            return "connection refused"
        if "timeout" in text or "timed out" in text:
            return f"no answer within {self.timeout_s:g} s"
        if "name or service not known" in text or "nodename nor servname" in text:
            return "host not found"
        if "connection" in text and ("reset" in text or "aborted" in text):
            return "connection reset"
        return redact(str(error).splitlines()[0][:200], self.target.uri)

    def _http_error(self, response) -> ServerError:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        code = payload.get("error_code", "")
        message = redact(str(payload.get("message") or response.reason or ""), self.target.uri)
        status = response.status_code
        if status == 403 and "host header" in (message + response.text[:300]).lower():
            return ServerError(
                "the server refuses the host name in the URL (HTTP 403, MLflow's host check): "
                "use its IP address, or start it with --allowed-hosts NAME:PORT"
            )
        if status in (401, 403):
            return ServerError(f"credentials rejected (HTTP {status})")
        if status == 404 and code == "RESOURCE_DOES_NOT_EXIST":
            return ServerError(f"not found: {message[:160]}", run_level=True)
        detail = f"{code}: {message[:160]}" if code else message[:160]
        return ServerError(f"HTTP {status} {detail}".strip(), run_level=status == 400)

    # -- experiments ------------------------------------------------------------------------
    def experiment_id(self, name: str | None = None, create: bool = True) -> str:
        """The experiment's id, creating it on first use (two creators at once: one wins).
        create=False: a missing experiment is a ServerError (run_level, it will not appear)."""
        name = name or self.target.experiment
        if name not in self._experiment_ids:
            self._experiment_ids[name] = self._get_or_create(name, create)
        return self._experiment_ids[name]

    def _get_or_create(self, name: str, create: bool) -> str:
        for _attempt in range(2):
            try:
                found = self._call("GET", "experiments/get-by-name", {"experiment_name": name})
                experiment = found["experiment"]
                if experiment.get("lifecycle_stage") == "deleted":
                    raise ServerError(f"experiment {name!r} is deleted on the server")
                return experiment["experiment_id"]
            except ServerError as error:
                if not error.run_level:
                    raise
                if not create:
                    raise ServerError(
                        f"no experiment named {name!r} on the server", run_level=True
                    ) from None
            try:
                return self._call("POST", "experiments/create", {"name": name})["experiment_id"]
            except ServerError as error:
                if "ALREADY_EXISTS" not in error.reason:
                    raise
        raise ServerError(f"could not create experiment {name!r}")

    # -- runs -------------------------------------------------------------------------------
    def create_run(self, row: dict, experiment_id: str, parent_run_id: str | None) -> str:
        body = mlflow_rows.create_body(row, experiment_id, parent_run_id)
        return self._call("POST", "runs/create", body)["run"]["info"]["run_id"]

    def complete_run(self, mlflow_run_id: str, row: dict) -> None:
        """Metrics and params, then the status and end time (safe to repeat: MLflow keeps one
        copy of an identical metric and accepts an identical param again)."""
        self._call("POST", "runs/log-batch", mlflow_rows.batch_body(mlflow_run_id, row))
        self._call("POST", "runs/update", mlflow_rows.update_body(mlflow_run_id, row))

    def find_run(self, mlcost_run_id: str, experiment_id: str) -> dict | None:
        """The MLflow run logged for this ledger run, if any (by the mlcost.run_id tag)."""
        runs = self.search(experiment_id, f"tags.`{mlflow_rows.RUN_ID_TAG}` = '{mlcost_run_id}'")
        return runs[0] if runs else None

    def search(self, experiment_id: str, filter_string: str = "") -> list[dict]:
        """Every active run of the experiment matching the filter, all pages."""
        runs: list[dict] = []
        token = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": [experiment_id],
                "filter": filter_string,
                "max_results": SEARCH_PAGE_RUNS,
            }
            if token:
                body["page_token"] = token
            page = self._call("POST", "runs/search", body)
            runs.extend(page.get("runs", []))
            token = page.get("next_page_token")
            if not token:
                return runs
