"""The NAS-Bench-201 CIFAR-10 table bundled as package data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sknas.benchmarks import NB201Benchmark
from sknas.benchmarks.nb201 import BUNDLED_TABLE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundled():
    return NB201Benchmark.bundled()


def test_bundled_table_is_small_and_licensed():
    assert BUNDLED_TABLE.stat().st_size < 1_000_000
    notice = (BUNDLED_TABLE.parent / "NOTICE").read_text()
    assert "MIT License" in notice and "NATS-Bench" in notice


def test_bundled_table_facts(bundled):
    assert len(bundled) == 15625
    assert bundled.best_index("test") == 6111
    assert bundled.optimum("test") == pytest.approx(94.3733, abs=1e-4)
    assert bundled.best_index("valid") == 13714
    assert bundled.query(13714, "test") == bundled.optimum("test")
    assert bundled.query("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "test") == 10.0
    assert set(bundled.metrics) >= {"valid", "test", "params", "flops", "time", "test_12ep"}


def test_from_csv_without_a_path_is_the_bundled_table(bundled):
    other = NB201Benchmark.from_csv()
    assert other.arch_strs == bundled.arch_strs
    np.testing.assert_array_equal(other.values("valid"), bundled.values("valid"))


def test_bundled_table_equals_the_shared_csv(bundled, nb201_benchmark):
    assert bundled.arch_strs == nb201_benchmark.arch_strs
    for metric in ("valid", "test", "test_12ep", "params", "flops", "time"):
        np.testing.assert_array_equal(bundled.values(metric), nb201_benchmark.values(metric))


def test_command_line_runs_without_data_path():
    result = subprocess.run(
        [sys.executable, "-m", "sknas.benchmarks", "nb201", "--strategies", "random",
         "--seeds", "2", "--trials", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "optimum 94.37" in result.stdout
