"""Tutorial data loading: local CSV, offline fallback, opt-in downloads, model sizes."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from mlcost_magic.tutorials import datasets

EEG_COLUMNS = ["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8"]


@pytest.fixture
def eeg_csv(tmp_path):
    """A small EEG-Eye-State-shaped CSV: 13 channels and an ``eyeDetection`` column."""
    rng = np.random.default_rng(7)
    n_rows = 60
    values = rng.normal(4300, 40, size=(n_rows, len(EEG_COLUMNS))).round(2)
    labels = np.array([0, 1] * (n_rows // 2))
    path = tmp_path / "eeg_eye_state.csv"
    lines = [",".join([*EEG_COLUMNS, "eyeDetection"])]
    lines += [
        ",".join([*map(str, row), str(label)]) for row, label in zip(values, labels, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path, values, labels


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a non-loopback connection."""
    attempts: list = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"network disabled in this test: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.delenv(datasets.ALLOW_DOWNLOAD_ENV, raising=False)
    monkeypatch.delenv(datasets.EEG_CSV_ENV, raising=False)
    return attempts


def test_eeg_from_csv_reads_features_and_target(eeg_csv):
    path, values, labels = eeg_csv
    split = datasets.load_eeg_eye_state(csv_path=path)
    assert split.name == "EEG Eye State"
    assert split.source == "csv"
    assert not split.is_fallback
    assert split.n_samples == len(labels)
    assert split.n_features == len(EEG_COLUMNS)
    assert list(split.X_train.columns) == EEG_COLUMNS
    assert len(split.X_test) == pytest.approx(0.2 * len(labels), abs=1)
    # Every row is kept with its own label (the split shuffles but never mixes columns up).
    together = np.vstack([split.X_train.to_numpy(), split.X_test.to_numpy()])
    together_labels = np.concatenate([split.y_train.to_numpy(), split.y_test.to_numpy()])
    order = np.lexsort(together.T[::-1])
    expected_order = np.lexsort(values.T[::-1])
    np.testing.assert_allclose(together[order], values[expected_order])
    np.testing.assert_array_equal(together_labels[order], labels[expected_order])
    # Stratified: both classes on both sides.
    assert set(split.y_test) == {0, 1}


def test_eeg_csv_target_can_be_named(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("eye,a,b\n" + "".join(f"{i % 2},{i},{i * 2}\n" for i in range(20)))
    split = datasets.load_eeg_eye_state(csv_path=path, target="eye")
    assert split.n_features == 2
    assert sorted(set(split.y_train) | set(split.y_test)) == [0, 1]
    with pytest.raises(ValueError, match="no target column"):
        datasets.load_eeg_eye_state(csv_path=path, target="missing")


def test_eeg_csv_from_environment(eeg_csv, monkeypatch, no_network):
    path, _, labels = eeg_csv
    monkeypatch.setenv(datasets.EEG_CSV_ENV, str(path))
    split = datasets.load_harder_dataset()
    assert (split.name, split.source, split.n_samples) == ("EEG Eye State", "csv", len(labels))
    assert no_network == []


def test_missing_csv_is_unavailable(tmp_path, no_network):
    with pytest.raises(datasets.DatasetUnavailable, match="no EEG Eye State CSV"):
        datasets.load_eeg_eye_state(csv_path=tmp_path / "absent.csv")


def test_offline_by_default_makes_no_connection(no_network):
    with pytest.raises(datasets.DatasetUnavailable, match=datasets.ALLOW_DOWNLOAD_ENV):
        datasets.load_eeg_eye_state()
    started = time.monotonic()
    split = datasets.load_harder_dataset()
    assert time.monotonic() - started < 5
    assert no_network == [], "the default path must not touch the network"
    assert split.is_fallback
    assert split.name == "digits"
    assert "Offline fallback" in split.note
    assert "Offline fallback" in split.describe()


def test_opt_in_download_fails_fast_without_network(no_network, monkeypatch):
    monkeypatch.setenv(datasets.ALLOW_DOWNLOAD_ENV, "1")
    assert datasets.download_allowed()
    assert not datasets.download_allowed(False)
    started = time.monotonic()
    split = datasets.load_harder_dataset(timeout_s=1.0)
    assert time.monotonic() - started < 5
    assert split.is_fallback
    assert "did not answer" in split.note


def test_opt_in_probe_is_bounded_when_lookup_hangs(monkeypatch):
    """A DNS lookup that never returns must not hold the notebook."""
    release = threading.Event()

    def hanging(*args, **kwargs):
        release.wait(30)
        raise OSError("lookup released by the test")

    monkeypatch.setattr(datasets.socket, "create_connection", hanging)
    started = time.monotonic()
    try:
        with pytest.raises(datasets.DatasetUnavailable, match="did not answer"):
            datasets.load_eeg_eye_state(allow_download=True, timeout_s=0.5)
        assert time.monotonic() - started < 3
    finally:
        release.set()


def test_split_unpacks_like_train_test_split():
    split = datasets.make_rf_sizes_data(n_samples=500)
    X_train, X_test, y_train, y_test = split
    assert X_train.shape == (400, 20) and X_test.shape == (100, 20)
    assert set(y_train) == {0, 1, 2}
    assert len(y_test) == 100
    again = datasets.make_rf_sizes_data(n_samples=500)
    np.testing.assert_array_equal(split.X_test, again.X_test)


def test_iris_split():
    split = datasets.load_iris_split()
    assert (split.n_samples, split.n_features, split.source) == (150, 4, "bundled")


def test_the_tutorials_keep_model_size_where_it_was():
    import mlcost_magic

    assert datasets.model_size is mlcost_magic.model_size  # tests/test_model_size.py tests it
