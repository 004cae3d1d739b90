"""Data for the tutorial notebooks: small, deterministic, and offline by default.

Product rule: no network at run time, ever, by default. The one data set that lives online
(EEG Eye State on OpenML) is downloaded only when the caller opts in, with
``allow_download=True`` or the environment variable ``MLCOST_ALLOW_DOWNLOAD=1``; otherwise the
tutorials fall back to scikit-learn's bundled digits and say so. A local copy of the data can
always be used instead, with ``csv_path=`` or ``MLCOST_EEG_CSV``.

scikit-learn is imported inside the functions: ``import mlcost_magic`` stays cheap.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..measure.model_size import model_size  # public as mlcost_magic.model_size

__all__ = [
    "ALLOW_DOWNLOAD_ENV",
    "EEG_CSV_ENV",
    "EEG_OPENML_ID",
    "DatasetUnavailable",
    "Split",
    "download_allowed",
    "load_eeg_eye_state",
    "load_harder_dataset",
    "load_iris_split",
    "make_rf_sizes_data",
    "model_size",
]

ALLOW_DOWNLOAD_ENV = "MLCOST_ALLOW_DOWNLOAD"
EEG_CSV_ENV = "MLCOST_EEG_CSV"
EEG_OPENML_ID = 1471
OPENML_HOST = "www.openml.org"
_EEG_TARGET_NAMES = ("eyeDetection", "Class", "class", "target", "label", "y")
_TRUE_WORDS = {"1", "true", "yes", "on"}


class DatasetUnavailable(RuntimeError):
    """The requested data set cannot be loaded without a network the caller did not allow."""


@dataclass(frozen=True)
class Split:
    """A train/test split with where it came from, so notebooks can say what they used."""

    name: str
    X_train: Any
    X_test: Any
    y_train: Any
    y_test: Any
    source: str  # "generated", "bundled", "csv", "openml" or "bundled-fallback"
    note: str = ""

    @property
    def n_samples(self) -> int:
        return len(self.y_train) + len(self.y_test)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def is_fallback(self) -> bool:
        return self.source == "bundled-fallback"

    def __iter__(self):
        """Unpack like ``train_test_split``: ``X_train, X_test, y_train, y_test = split``."""
        return iter((self.X_train, self.X_test, self.y_train, self.y_test))

    def describe(self) -> str:
        text = (
            f"{self.name}: {self.n_samples} samples, {self.n_features} features, "
            f"{len(set(_as_list(self.y_train)))} classes ({self.source})"
        )
        return f"{text}. {self.note}" if self.note else text


def _as_list(values: Any) -> list:
    return list(values.tolist() if hasattr(values, "tolist") else values)


def _split(X, y, *, name: str, source: str, note: str = "", test_size=0.2, random_state=42):
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y
    )
    return Split(name, X_train, X_test, y_train, y_test, source=source, note=note)


def make_rf_sizes_data(
    n_samples: int = 10_000, *, random_state: int = 42, test_size: float = 0.2
) -> Split:
    """The CodeCarbon model-comparison tutorial's data: 3 classes, 20 features, 80/20 split."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_samples,
        n_features=20,
        n_informative=15,
        n_redundant=5,
        n_classes=3,
        random_state=random_state,
    )
    return _split(
        X,
        y,
        name="make_classification (3 classes)",
        source="generated",
        test_size=test_size,
        random_state=random_state,
    )


def load_iris_split(*, random_state: int = 42, test_size: float = 0.2) -> Split:
    """Iris, bundled with scikit-learn: the easy data set of the RF/MLP/KNN study."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return _split(
        X, y, name="Iris", source="bundled", test_size=test_size, random_state=random_state
    )


def download_allowed(allow_download: bool | None = None) -> bool:
    """An explicit argument wins; otherwise ``MLCOST_ALLOW_DOWNLOAD`` decides (default: no)."""
    if allow_download is not None:
        return bool(allow_download)
    return os.environ.get(ALLOW_DOWNLOAD_ENV, "").strip().lower() in _TRUE_WORDS


def _read_eeg_csv(csv_path: str | os.PathLike, target: str | None):
    import pandas as pd

    frame = pd.read_csv(csv_path)
    if frame.shape[1] < 2 or frame.empty:
        raise ValueError(f"{csv_path}: expected feature columns and a target column")
    if target is None:
        target = next((c for c in _EEG_TARGET_NAMES if c in frame.columns), frame.columns[-1])
    if target not in frame.columns:
        raise ValueError(f"{csv_path}: no target column {target!r}")
    y = frame.pop(target)
    return frame.astype("float64"), y.astype("int64")


def _openml_reachable(timeout_s: float) -> bool:
    """Connect once, in a daemon thread: a name lookup ignores socket timeouts and can hang."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((OPENML_HOST, 443), timeout=timeout_s):
                answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=probe, name="mlcost-openml-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(answer and answer[0])


def _fetch_eeg_openml(timeout_s: float):
    from sklearn.datasets import fetch_openml

    if not _openml_reachable(timeout_s):
        raise DatasetUnavailable(f"{OPENML_HOST} did not answer within {timeout_s:g} s")
    previous = socket.getdefaulttimeout()
    # fetch_openml's urlopen has no timeout of its own; bound every read instead.
    socket.setdefaulttimeout(max(timeout_s, 10.0))
    try:
        bunch = fetch_openml(data_id=EEG_OPENML_ID, as_frame=True, n_retries=1, delay=0.5)
    except Exception as error:  # URLError, HTTPError, timeouts, bad payloads
        raise DatasetUnavailable(f"OpenML download failed: {error}") from error
    finally:
        socket.setdefaulttimeout(previous)
    X = bunch.data.astype("float64")
    y = bunch.target.astype(str).rank(method="dense").astype("int64") - 1
    return X, y


def load_eeg_eye_state(
    csv_path: str | os.PathLike | None = None,
    *,
    target: str | None = None,
    allow_download: bool | None = None,
    timeout_s: float = 3.0,
    random_state: int = 42,
    test_size: float = 0.2,
) -> Split:
    """EEG Eye State (14 EEG channels, eyes open/closed), from a local CSV or from OpenML.

    Looks at ``csv_path``, then ``MLCOST_EEG_CSV``, then OpenML (only if downloads are
    allowed). Raises ``DatasetUnavailable`` rather than waiting on a network it may not use.
    """
    csv_path = csv_path or os.environ.get(EEG_CSV_ENV) or None
    if csv_path is not None:
        if not Path(csv_path).is_file():
            raise DatasetUnavailable(f"no EEG Eye State CSV at {csv_path}")
        X, y = _read_eeg_csv(csv_path, target)
        source = "csv"
    elif download_allowed(allow_download):
        X, y = _fetch_eeg_openml(timeout_s)
        source = "openml"
    else:
        raise DatasetUnavailable(
            f"downloads are off by default: set {ALLOW_DOWNLOAD_ENV}=1 to allow one, "
            f"or {EEG_CSV_ENV} to a local copy"
        )
    return _split(
        X,
        y,
        name="EEG Eye State",
        source=source,
        test_size=test_size,
        random_state=random_state,
    )


def load_harder_dataset(
    csv_path: str | os.PathLike | None = None,
    *,
    allow_download: bool | None = None,
    timeout_s: float = 3.0,
    random_state: int = 42,
) -> Split:
    """EEG Eye State when available, else scikit-learn's bundled digits, with a note why."""
    try:
        return load_eeg_eye_state(
            csv_path,
            allow_download=allow_download,
            timeout_s=timeout_s,
            random_state=random_state,
        )
    except DatasetUnavailable as reason:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        note = f"Offline fallback: scikit-learn's bundled digits replace EEG Eye State ({reason})."
        return _split(
            X, y, name="digits", source="bundled-fallback", note=note, random_state=random_state
        )
