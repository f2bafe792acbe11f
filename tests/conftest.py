"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Scripts that tests run in a child process: importing them here would run them.
collect_ignore = ["estimators/_sigint_child.py"]

#: Real data shared by the project's tests, next to the repository (never copied into it).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NB201_CSV = SHARED_DATA / "nb201" / "nb201_cifar10.csv"
NB201_LATENCY_CSV = SHARED_DATA / "nb201" / "nb201_latency.csv.gz"


def _require_data_file(path: Path) -> Path:
    """Return ``path``; skip the test when it is absent, or fail if SKNAS_REQUIRE_DATA=1."""
    if path.is_file():
        return path
    message = f"data file {path} is absent (see ../shared/data/README.md)"
    if os.environ.get("SKNAS_REQUIRE_DATA") == "1":
        pytest.fail(f"{message}, and SKNAS_REQUIRE_DATA=1 requires it.")
    pytest.skip(f"{message}; set SKNAS_REQUIRE_DATA=1 to make this an error.")


@pytest.fixture(scope="session")
def nb201_csv() -> Path:
    """Path of NAS-Bench-201's CIFAR-10 table (skips the test when absent)."""
    return _require_data_file(NB201_CSV)


@pytest.fixture(scope="session")
def nb201_benchmark(nb201_csv):
    """The CIFAR-10 NAS-Bench-201 table, loaded once per session."""
    from sknas.benchmarks import NB201Benchmark

    return NB201Benchmark.from_csv(nb201_csv)


@pytest.fixture(scope="session")
def tiny_search():
    """A NASClassifier fitted on 300 digits with a tiny budget (4 trials, 3 epochs)."""
    from sklearn.datasets import load_digits

    from sknas import NASClassifier

    X, y = load_digits(return_X_y=True)
    clf = NASClassifier(
        search_space="mlp", n_trials=4, max_epochs=3, random_state=0, n_threads=1
    )
    return clf.fit(X[:300], y[:300])


@pytest.fixture(scope="session")
def nb201_latency_csv() -> Path:
    """Path of NAS-Bench-201's latency table, six devices (skips the test when absent)."""
    return _require_data_file(NB201_LATENCY_CSV)
