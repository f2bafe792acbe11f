"""Tests of TableBenchmark, its TableSpace, and the ``table`` command line."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pandas as pd
import pytest

from sknas.benchmarks import (
    MissingArchitectureError,
    NB201Benchmark,
    TableBenchmark,
    TableSpace,
    run_benchmark,
)
from sknas.benchmarks._cli import main as cli_main
from sknas.benchmarks._runner import run_seed
from sknas.samplers import STRATEGIES, make_sampler
from sknas.testing import SearchSpaceConformance

OPS = ["op_0_1", "op_0_2", "op_1_2", "op_0_3", "op_1_3", "op_2_3"]


def toy_frame(drop_every: int = 0) -> pd.DataFrame:
    """4 x 3 x 3 grid; the score depends on each column differently (no shared worth)."""
    effects = {"a": {"p": 0.0, "q": 2.0, "r": 1.0, "s": 0.5},
               "b": {1: 0.0, 2: 3.0, 3: 1.0},
               "c": {"x": 1.0, "y": 0.0, "z": 2.5}}
    rows = []
    for k, (a, b, c) in enumerate(itertools.product(*[list(e) for e in effects.values()])):
        if drop_every and k % drop_every == 1:
            continue
        score = effects["a"][a] + effects["b"][b] + effects["c"][c]
        rows.append({"a": a, "b": b, "c": c, "valid": score, "test": score + 0.1 * (k % 3),
                     "cost": 1.0 + k})
    return pd.DataFrame(rows)


def toy(drop_every: int = 0, **kwargs) -> TableBenchmark:
    return TableBenchmark(toy_frame(drop_every), space_columns=["a", "b", "c"],
                          search_metric="valid", report_metric="test", **kwargs)


# -- the table ---------------------------------------------------------------------
def test_space_is_built_from_the_distinct_values():
    bench = toy()
    dists = bench.search_space.distributions()
    assert list(dists) == ["a", "b", "c"]
    assert dists["a"].choices == ("p", "q", "r", "s")
    assert dists["b"].choices == (1, 2, 3)
    assert bench.search_space.rows is None  # every combination is present
    assert len(bench) == 36
    best = bench.search_space.decode({"a": "q", "b": 2, "c": "z"})
    assert bench.query(best) == bench.optimum("valid") == pytest.approx(7.5)
    assert bench.query(best.key(), "test") == bench.query(bench.index(best), "test")
    assert bench.query(best, "cost") == bench.query(best, "cost")
    assert bench.training_time(best) == 1.0


def test_minimise_orients_valid_and_test_and_keeps_raw_columns():
    frame = toy_frame().rename(columns={"valid": "error", "test": "test_error"})
    bench = TableBenchmark(frame, space_columns=["a", "b", "c"], search_metric="error",
                           report_metric="test_error", maximize=False, time_column="cost")
    worst = bench.search_space.decode({"a": "p", "b": 1, "c": "y"})  # smallest error
    assert bench.query(worst, "error") == 0.0
    assert bench.query(worst, "valid") == bench.optimum("valid") == 0.0
    best = bench.search_space.decode({"a": "q", "b": 2, "c": "z"})
    assert bench.query(best, "valid") == pytest.approx(-7.5)
    assert bench.optimum("test") == pytest.approx(-frame["test_error"].min())
    assert bench.optimum("error") == 0.0  # a raw column: smaller is better
    assert bench.higher_is_better("valid") and not bench.higher_is_better("error")
    assert bench.training_time(worst) == bench.query(worst, "cost")


def test_bad_tables_are_refused_with_the_column_named():
    frame = toy_frame()
    kwargs = {"search_metric": "valid", "report_metric": "test"}
    with pytest.raises(ValueError, match="no column 'd'"):
        TableBenchmark(frame, space_columns=["a", "d"], **kwargs)
    with pytest.raises(ValueError, match="several rows for"):
        TableBenchmark(frame, space_columns=["a", "b"], **kwargs)
    with pytest.raises(ValueError, match="both an architecture column and a metric"):
        TableBenchmark(frame, space_columns=["a", "valid"], **kwargs)
    with pytest.raises(ValueError, match="non-empty list"):
        TableBenchmark(frame, space_columns="a", **kwargs)
    broken = frame.assign(valid=frame["valid"].where(frame.index != 4))
    with pytest.raises(ValueError, match="missing a value on row 4"):
        TableBenchmark(broken, space_columns=["a", "b", "c"], **kwargs)
    with pytest.raises(ValueError, match="not a number"):
        TableBenchmark(frame.assign(test="x"), space_columns=["a", "b", "c"], **kwargs)
    with pytest.raises(ValueError, match="clashes with the metric name 'test'"):
        TableBenchmark(frame.rename(columns={"test": "t"}).assign(test=1.0),
                       space_columns=["a", "b", "c"], search_metric="valid",
                       report_metric="t")
    with pytest.raises(TypeError, match="DataFrame or a mapping"):
        TableBenchmark([1, 2], space_columns=["a"], **kwargs)
    with pytest.raises(ValueError, match="unknown metric"):
        toy().query(0, "accuracy")


def test_csv_round_trip(tmp_path):
    path = tmp_path / "grid.csv"
    toy_frame().to_csv(path, index=False)
    bench = TableBenchmark.from_csv(path, space_columns=["a", "b", "c"],
                                    search_metric="valid", report_metric="test")
    # CSV values stay strings; the metrics agree with the in-memory table.
    assert bench.search_space.distributions()["b"].choices == ("1", "2", "3")
    assert np.allclose(np.sort(bench.values("valid")), np.sort(toy().values("valid")))
    with pytest.raises(FileNotFoundError):
        TableBenchmark.from_csv(tmp_path / "nope.csv", space_columns=["a"],
                                search_metric="valid", report_metric="test")


# -- missing combinations ------------------------------------------------------------
def test_space_operators_stay_inside_a_sparse_table():
    bench = toy(drop_every=4)
    space = bench.search_space
    assert space.rows is not None and len(bench) == 27
    present = {a.key() for a in bench.architectures()}
    rng = np.random.default_rng(0)
    for _ in range(30):
        arch = space.sample(rng)
        assert arch.key() in present
        assert space.mutate(arch, rng).key() in present
        assert all(n.key() in present for n in space.neighbours(arch))
    assert {a.key() for a in space.all_architectures()} == present
    absent = space.decode({"a": "p", "b": 1, "c": "y"})
    assert not space.contains(absent)
    with pytest.raises(KeyError, match="has no row for"):
        bench.query(absent)
    with pytest.raises(optuna.TrialPruned):
        bench.query(absent)
    assert issubclass(MissingArchitectureError, KeyError)


def test_absent_combinations_are_pruned_queries_and_local_search_avoids_them():
    bench = toy(drop_every=2)  # half the grid is absent
    run = run_seed(bench, "random", 0, 20)
    assert np.isnan(run["valid"]).any()  # pruned proposals spent a query...
    finite = run["incumbent_valid"][~np.isnan(run["incumbent_valid"])]
    assert np.all(np.diff(finite) >= 0)  # ...and never moved the incumbent
    study = optuna.create_study(
        direction="maximize", sampler=make_sampler("local_search", seed=0,
                                                   search_space=bench.search_space))
    from sknas._search import run_search

    run_search(study, bench.search_space, lambda t, a: bench.query(a), n_trials=15)
    states = [t.state for t in study.trials]
    # Only the first proposal (the independent random fallback) may miss the table.
    assert states[1:].count(optuna.trial.TrialState.PRUNED) == 0


# -- strategies ------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_runs_on_a_table(strategy):
    result = run_benchmark(toy(drop_every=5), strategy, n_trials=10, seeds=[0])
    assert result.incumbent_test.shape == (1, 10)
    assert np.isfinite(result.incumbent_test[0, -1])


def test_nb201_as_a_table_matches_the_nb201_benchmark_and_local_search_beats_random(
    nb201_csv, nb201_benchmark
):
    frame = pd.read_csv(nb201_csv)
    bench = TableBenchmark(frame, space_columns=OPS, search_metric="cifar10_valid_acc_12ep",
                           report_metric="cifar10_test_acc_200ep")
    assert bench.optimum("test") == nb201_benchmark.optimum("test")
    arch = bench.arch_at(6111)
    assert bench.query(arch, "test") == pytest.approx(94.3733, abs=1e-4)
    assert len(bench.search_space.neighbours(arch)) == 24
    # The bar's setting: 100 queries; 16 seeds give local search about 5 SE over random.
    seeds = list(range(16))
    local = run_benchmark(bench, "auto", n_trials=100, seeds=seeds).incumbent_test[:, -1]
    rand = run_benchmark(bench, "random", n_trials=100, seeds=seeds).incumbent_test[:, -1]
    diff = local - rand
    assert diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_subset_is_a_sub_space():
    bench = toy()
    sub = bench.subset(toy_frame()["a"] != "q")
    assert sub.search_space.distributions()["a"].choices == ("p", "r", "s")
    assert sub.search_space.rows is None
    assert sub.optimum("valid") == pytest.approx(6.5)


# -- the conformance suite -------------------------------------------------------------
class TestTableSpaceConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self):
        return toy(drop_every=4).search_space

    def test_build_module_forward(self, space, archs, module_io):
        with pytest.raises(NotImplementedError, match="builds no network"):
            space.build_module(archs[0], *module_io)


def test_table_space_is_configurable():
    space = TableSpace({"x": ["a", "b"]})
    assert space.get_params() == {"choices": {"x": ["a", "b"]}, "rows": None}


# -- command line ------------------------------------------------------------------------
def test_cli_table(tmp_path, capsys):
    path = tmp_path / "grid.csv"
    toy_frame().to_csv(path, index=False)
    out_json = tmp_path / "out.json"
    status = cli_main(["table", str(path), "--space-columns", "a", "b", "c",
                       "--search-metric", "valid", "--report-metric", "test",
                       "--strategies", "random", "local_search", "--seeds", "2",
                       "--trials", "8", "--json", str(out_json)])
    assert status == 0
    out = capsys.readouterr().out
    assert "local_search" in out and "36 rows" in out
    assert out_json.is_file()
    with pytest.raises(SystemExit):
        cli_main(["table", str(path), "--space-columns", "a", "nope",
                  "--search-metric", "valid", "--report-metric", "test"])
    assert "no column 'nope'" in capsys.readouterr().err


def test_nb201_benchmark_still_answers_through_the_cli(nb201_csv, capsys):
    assert isinstance(NB201Benchmark.from_csv(nb201_csv), NB201Benchmark)
    assert cli_main(["nb201", "--data", str(nb201_csv), "--strategies", "random",
                     "--seeds", "1", "--trials", "5"]) == 0
    assert "NAS-Bench-201 cifar10" in capsys.readouterr().out
