"""Tabular NAS benchmarks: query results instead of training, and run strategies on them.

>>> from sknas.benchmarks import NB201Benchmark, run_benchmark
>>> bench = NB201Benchmark.bundled()  # the CIFAR-10 table shipped with sknas
>>> run_benchmark(bench, "tpe", n_trials=150, seeds=10).mean_se([150])  # doctest: +SKIP
"""

from sknas.benchmarks._hypervolume import HypervolumeScorer
from sknas.benchmarks._runner import BenchmarkResult, run_benchmark
from sknas.benchmarks.nb201 import NB201_METRICS, NB201Benchmark
from sknas.benchmarks.surrogate import SurrogateBenchmark
from sknas.benchmarks.table import MissingArchitectureError, TableBenchmark, TableSpace

__all__ = [
    "NB201Benchmark",
    "NB201_METRICS",
    "BenchmarkResult",
    "run_benchmark",
    "TableBenchmark",
    "TableSpace",
    "MissingArchitectureError",
    "SurrogateBenchmark",
    "HypervolumeScorer",
]
