"""Tests of the NAS-Bench-201 table and the benchmark runner."""

from __future__ import annotations

import csv

import numpy as np
import optuna
import pytest

from sknas.benchmarks import NB201Benchmark, run_benchmark
from sknas.spaces import NB201Space

BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


# -- the table ---------------------------------------------------------------------
def test_facts_of_the_table(nb201_benchmark):
    bench = nb201_benchmark
    assert len(bench) == 15625
    assert bench.optimum("test") == pytest.approx(94.3733, abs=1e-4)
    assert bench.best_index("test") == 6111
    assert bench.arch_strs[6111] == BEST
    # The best validation accuracy belongs to a cell with that same test accuracy.
    assert bench.query(bench.best_index("valid"), "test") == bench.optimum("test")
    assert bench.query(ALL_NONE, "test") == pytest.approx(10.0)
    assert bench.optimum("params") == pytest.approx(bench.query(ALL_NONE, "params"))


def test_query_by_architecture_string_index_or_column_name(nb201_benchmark):
    bench = nb201_benchmark
    arch = NB201Space().arch_from_str(BEST)
    assert bench.index(arch) == bench.index(BEST) == 6111
    assert bench.query(arch, "test") == bench.query(6111, "cifar10_test_acc_200ep")
    assert bench.query(arch, "params") == pytest.approx(1.073466)
    assert bench.arch_at(6111) == arch
    assert bench.search_space.get_params() == NB201Space().get_params()


def test_simulated_time_is_proportional_to_flops(nb201_csv):
    bench = NB201Benchmark.from_csv(nb201_csv, seconds_per_mflop=2.0)
    assert bench.training_time(BEST) == pytest.approx(2.0 * bench.query(BEST, "flops"))
    assert bench.optimum("time") == pytest.approx(2.0 * bench.optimum("flops"))


def test_query_errors(nb201_benchmark):
    with pytest.raises(ValueError, match="unknown metric"):
        nb201_benchmark.query(BEST, "accuracy")
    with pytest.raises(KeyError, match="not a cell"):
        nb201_benchmark.query("|none~0|", "valid")
    with pytest.raises(IndexError):
        nb201_benchmark.query(15625, "valid")
    with pytest.raises(ValueError):
        nb201_benchmark.values("test")[0] = 1.0


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        NB201Benchmark.from_csv(path)


def _write_subset(nb201_csv, path, drop=(), edit=None, n_rows=30):
    with open(nb201_csv, newline="") as handle:
        rows = list(csv.reader(handle))[: n_rows + 1]
    keep = [k for k, name in enumerate(rows[0]) if name not in drop]
    if edit is not None:
        column, value = edit
        rows[1][rows[0].index(column)] = value
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([[row[k] for k in keep] for row in rows])
    return path


def test_missing_column_is_named(nb201_csv, tmp_path):
    path = _write_subset(nb201_csv, tmp_path / "t.csv", drop=("cifar10_valid_acc_12ep",))
    with pytest.raises(ValueError, match="cifar10_valid_acc_12ep") as info:
        NB201Benchmark.from_csv(path)
    assert "t.csv" in str(info.value)
    good = _write_subset(nb201_csv, tmp_path / "u.csv")
    with pytest.raises(ValueError, match="cifar100_valid_acc_12ep"):
        NB201Benchmark.from_csv(good, dataset="cifar100")
    small = NB201Benchmark.from_csv(good)
    assert len(small) == 30


def test_non_numeric_value_is_reported(nb201_csv, tmp_path):
    path = _write_subset(nb201_csv, tmp_path / "t.csv", edit=("cifar10_flops_m", "n/a"))
    with pytest.raises(ValueError, match="cifar10_flops_m"):
        NB201Benchmark.from_csv(path)


# -- the runner --------------------------------------------------------------------
def test_run_benchmark_shapes_and_incumbents(nb201_benchmark):
    result = run_benchmark(nb201_benchmark, "random", n_trials=40, seeds=3)
    for name in ("valid", "test", "incumbent_valid", "incumbent_test", "simulated_time"):
        assert getattr(result, name).shape == (3, 40)
    assert list(result.seeds) == [0, 1, 2]
    assert np.all(np.diff(result.incumbent_valid, axis=1) >= 0)
    assert np.all(np.diff(result.simulated_time, axis=1) >= 0)
    assert np.all(result.simulated_time[:, 0] > 0)
    np.testing.assert_array_equal(
        result.incumbent_valid, np.maximum.accumulate(result.valid, axis=1)
    )
    for row in range(3):
        for k in range(40):
            first_best = int(np.argmax(result.valid[row, : k + 1]))
            assert result.incumbent_test[row, k] == result.test[row, first_best]
    assert result.optimum_test == nb201_benchmark.optimum("test")
    assert np.all(result.test_regret >= 0)


def test_mean_and_standard_error(nb201_benchmark):
    result = run_benchmark(nb201_benchmark, "random", n_trials=20, seeds=[4, 5, 6, 7])
    mean, se = result.mean_se([1, 10, 20])
    data = result.incumbent_test[:, [0, 9, 19]]
    np.testing.assert_allclose(mean, data.mean(axis=0))
    np.testing.assert_allclose(se, data.std(axis=0, ddof=1) / 2.0)
    with pytest.raises(ValueError, match="1..20"):
        result.mean_se([21])


def test_run_benchmark_is_deterministic(nb201_benchmark):
    a = run_benchmark(nb201_benchmark, "tpe", n_trials=15, seeds=[1, 2])
    b = run_benchmark(nb201_benchmark, "tpe", n_trials=15, seeds=[1, 2], n_jobs=2)
    np.testing.assert_array_equal(a.valid, b.valid)
    np.testing.assert_array_equal(a.incumbent_test, b.incumbent_test)
    assert not np.array_equal(a.valid[0], a.valid[1])


def test_sampler_instances_and_factories(nb201_benchmark):
    instance = optuna.samplers.RandomSampler(seed=0)
    by_instance = run_benchmark(nb201_benchmark, instance, n_trials=10, seeds=2)
    assert by_instance.strategy == "RandomSampler"
    # A seeded instance is copied for every seed, so both runs repeat it.
    np.testing.assert_array_equal(by_instance.valid[0], by_instance.valid[1])

    def factory(seed, space):
        assert isinstance(space, NB201Space)
        return optuna.samplers.RandomSampler(seed=seed)

    by_factory = run_benchmark(nb201_benchmark, factory, n_trials=10, seeds=[0, 1])
    by_name = run_benchmark(nb201_benchmark, "random", n_trials=10, seeds=[0, 1])
    np.testing.assert_array_equal(by_factory.valid, by_name.valid)


def test_run_benchmark_rejects_bad_arguments(nb201_benchmark):
    with pytest.raises(ValueError, match="n_trials"):
        run_benchmark(nb201_benchmark, "random", n_trials=0, seeds=1)
    with pytest.raises(ValueError, match="seeds"):
        run_benchmark(nb201_benchmark, "random", n_trials=5, seeds=[])
    with pytest.raises(ValueError, match="Unknown strategy"):
        run_benchmark(nb201_benchmark, "hill-climbing-42", n_trials=5, seeds=1)


def _beats_random(bench, strategy, n_trials, n_seeds, baseline="random"):
    seeds = list(range(n_seeds))
    ours = run_benchmark(bench, strategy, n_trials=n_trials, seeds=seeds)
    baseline = run_benchmark(bench, baseline, n_trials=n_trials, seeds=seeds)
    (m1,), (s1,) = ours.mean_se([n_trials])
    (m0,), (s0,) = baseline.mean_se([n_trials])
    # One-sided margin of two standard errors of the difference.
    assert m1 - m0 > 2.0 * np.hypot(s0, s1), (strategy, m1, s1, m0, s0)


def test_tpe_beats_random_search(nb201_benchmark):
    _beats_random(nb201_benchmark, "tpe", n_trials=100, n_seeds=20)


def test_evolution_beats_random_search(nb201_benchmark):
    _beats_random(nb201_benchmark, "evolution", n_trials=150, n_seeds=20)


def test_bananas_beats_random_search(nb201_benchmark):
    from sknas.samplers import BananasSampler

    def small_bananas(seed, space):
        # A cheaper ensemble and the mutation pool keep the test near a minute.
        return BananasSampler(
            n_models=3, n_epochs=60, candidate_pool="mutation", seed=seed, search_space=space
        )

    _beats_random(nb201_benchmark, small_bananas, n_trials=80, n_seeds=12)


def test_local_search_beats_random_search_and_tpe(nb201_benchmark):
    _beats_random(nb201_benchmark, "local_search", n_trials=100, n_seeds=20)
    _beats_random(nb201_benchmark, "local_search", n_trials=50, n_seeds=60, baseline="tpe")


# -- the command line --------------------------------------------------------------
def test_command_line_prints_table_and_writes_json(nb201_csv, tmp_path, capsys):
    import json

    from sknas.benchmarks._cli import main

    out = tmp_path / "summary.json"
    status = main([
        "nb201", "--data", str(nb201_csv), "--strategies", "random:2", "tpe",
        "--seeds", "3", "--trials", "12", "--queries", "6", "12", "--json", str(out),
    ])
    assert status == 0
    text = capsys.readouterr().out
    assert "@6" in text and "@12" in text and "optimum 94.37" in text
    summary = json.loads(out.read_text())
    assert summary["optimum_test"] == pytest.approx(94.3733, abs=1e-4)
    assert summary["strategies"]["random"]["n_seeds"] == 2
    assert summary["strategies"]["tpe"]["n_seeds"] == 3
    assert len(summary["strategies"]["tpe"]["mean"]) == 2


def test_command_line_plot_or_message(nb201_csv, tmp_path, capsys):
    from sknas.benchmarks._cli import main

    png = tmp_path / "regret.png"
    main(["nb201", "--data", str(nb201_csv), "--strategies", "random", "--seeds", "2",
          "--trials", "5", "--plot", str(png)])
    text = capsys.readouterr().out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in text
    else:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategies", "no-such-strategy"], "unknown strategies"),
        (["--strategies", "random:x"], "NAME:N_SEEDS"),
        (["--trials", "0"], "must be >= 1"),
        (["--strategies", "random", "random:3"], "listed twice"),
    ],
)
def test_command_line_errors(nb201_csv, capsys, argv, message):
    from sknas.benchmarks._cli import main

    with pytest.raises(SystemExit):
        main(["nb201", "--data", str(nb201_csv), *argv])
    assert message in capsys.readouterr().err


def test_command_line_missing_data(tmp_path, capsys):
    from sknas.benchmarks._cli import main

    with pytest.raises(SystemExit):
        main(["nb201", "--data", str(tmp_path / "absent.csv")])
    assert "absent.csv" in capsys.readouterr().err
