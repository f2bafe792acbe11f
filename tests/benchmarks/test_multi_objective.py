"""Multi-objective runs on NAS-Bench-201: the latency metric, queried rows, hypervolume."""

from __future__ import annotations

import numpy as np
import pytest

from sknas.benchmarks import HypervolumeScorer, NB201Benchmark, run_benchmark
from sknas.benchmarks._cli import main


@pytest.fixture(scope="module")
def pixel3(nb201_csv, nb201_latency_csv):
    return NB201Benchmark.from_csv(nb201_csv, latency=nb201_latency_csv, device="pixel3")


def test_latency_metric_is_read_per_device(nb201_csv, nb201_latency_csv, pixel3):
    assert "latency" in pixel3.metrics and not pixel3.higher_is_better("latency")
    fpga = NB201Benchmark.from_csv(nb201_csv, latency=nb201_latency_csv, device="fpga")
    assert not np.allclose(fpga.values("latency"), pixel3.values("latency"))
    assert np.all(pixel3.values("latency") > 0)
    with pytest.raises(ValueError, match="devices there"):
        NB201Benchmark.from_csv(nb201_csv, latency=nb201_latency_csv, device="tpu")
    with pytest.raises(ValueError, match="go together"):
        NB201Benchmark.from_csv(nb201_csv, latency=nb201_latency_csv)


def test_hypervolume_protocol_reproduces_random_search_reference(pixel3):
    # The reference: random search on pixel3, 50 seeds: 0.695 / 0.759 at 50 / 100.
    scorer = HypervolumeScorer(pixel3, ("valid", "latency"), ("test", "latency"))
    assert scorer.score(np.arange(len(pixel3))) < 1.0  # valid and test fronts differ
    rng = np.random.default_rng(0)
    queried = np.stack([rng.integers(0, len(pixel3), 100) for _ in range(50)])
    trajectory = scorer.trajectory(queried)
    mean = trajectory[:, [49, 99]].mean(axis=0)
    se = trajectory[:, [49, 99]].std(axis=0, ddof=1) / np.sqrt(50)
    assert np.all(np.abs(mean - [0.695, 0.759]) < 3 * se + 0.01)


def test_run_benchmark_records_queries_and_hypervolume(pixel3):
    result = run_benchmark(pixel3, "nsga2", n_trials=12, seeds=2, objectives=("valid", "latency"))
    assert result.queried.shape == (2, 12) and result.hypervolume.shape == (2, 12)
    assert result.objectives == ("valid", "latency")
    np.testing.assert_allclose(result.valid, pixel3.values("valid")[result.queried])
    scorer = HypervolumeScorer(pixel3, ("valid", "latency"), ("test", "latency"))
    assert result.hypervolume[1, -1] == pytest.approx(scorer.score(result.queried[1]))
    single = run_benchmark(pixel3, "random", n_trials=5, seeds=1)
    assert single.queried.shape == (1, 5) and single.hypervolume is None
    np.testing.assert_allclose(single.valid[0], pixel3.values("valid")[single.queried[0]])


def test_command_line_multi_objective(nb201_csv, nb201_latency_csv, capsys, tmp_path):
    main(["nb201", "--data", str(nb201_csv), "--objectives", "valid", "latency",
          "--device", "fpga", "--latency", str(nb201_latency_csv), "--strategies", "random",
          "--seeds", "2", "--trials", "10", "--json", str(tmp_path / "hv.json")])
    out = capsys.readouterr().out
    assert "HV@10" in out and "fpga" in out
    assert (tmp_path / "hv.json").is_file()
