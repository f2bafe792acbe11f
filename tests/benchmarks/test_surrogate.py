"""Tests of SurrogateBenchmark: a model fitted on part of a table answers every query."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sknas.benchmarks import SurrogateBenchmark, TableBenchmark, run_benchmark


def grid(drop_every: int = 0) -> TableBenchmark:
    """5 x 5 x 5 grid with a per-column effect and an interaction; some rows may be absent."""
    rng = np.random.default_rng(0)
    effects = rng.normal(size=(3, 5))
    table: dict[str, list] = {"a": [], "b": [], "c": [], "score": [], "final": []}
    for k, (i, j, m) in enumerate(itertools.product(range(5), repeat=3)):
        if drop_every and k % drop_every == 0:
            continue
        score = effects[0, i] + effects[1, j] + effects[2, m] + 0.3 * (i == j)
        for name, value in zip("abc", (f"a{i}", f"b{j}", f"c{m}")):
            table[name].append(value)
        table["score"].append(score)
        table["final"].append(score + 0.05 * rng.normal())
    return TableBenchmark(table, space_columns=["a", "b", "c"], search_metric="score",
                          report_metric="final")


def test_surrogate_ranks_held_back_rows_and_answers_absent_combinations():
    bench = grid(drop_every=7)
    surrogate = SurrogateBenchmark.fit(bench, n_train=60, model="hgb", random_state=0)
    assert len(surrogate.train_index) == 60
    assert len(surrogate.held_out_index) == len(bench) - 60
    assert not set(surrogate.train_index) & set(surrogate.held_out_index)
    assert surrogate.kendall_tau("valid") > 0.6
    assert surrogate.encodings == ("onehot",)
    # A combination the table lacks is answered by the model.
    absent = bench.search_space.decode({"a": "a0", "b": "b0", "c": "c0"})
    assert not bench.search_space.contains(absent)
    assert np.isfinite(surrogate.query(absent))
    assert surrogate.search_space.contains(absent)
    assert surrogate.query(absent.key()) == surrogate.query(absent)
    # The optimum covers the whole space, so it is at least every table row's prediction.
    predictions = surrogate.predict(bench.architectures(), "test")
    assert surrogate.optimum("test") >= predictions.max()


def test_strategies_run_on_a_surrogate():
    surrogate = SurrogateBenchmark.fit(grid(), n_train=0.5, model="mlp", random_state=0)
    result = run_benchmark(surrogate, "auto", n_trials=12, seeds=2)
    assert result.incumbent_test.shape == (2, 12)
    assert np.all(np.isfinite(result.incumbent_test))
    assert result.optimum_test == surrogate.optimum("test")


def test_fit_is_seeded():
    first = SurrogateBenchmark.fit(grid(), n_train=40, metrics=("valid",), random_state=3)
    second = SurrogateBenchmark.fit(grid(), n_train=40, metrics=("valid",), random_state=3)
    assert np.array_equal(first.train_index, second.train_index)
    assert first.query(5) == second.query(5)


def test_bad_settings_are_refused():
    bench = grid()
    with pytest.raises(ValueError, match="n_train"):
        SurrogateBenchmark.fit(bench, n_train=len(bench))
    with pytest.raises(ValueError, match="n_train"):
        SurrogateBenchmark.fit(bench, n_train=1.5)
    with pytest.raises(ValueError, match="model must be one of"):
        SurrogateBenchmark.fit(bench, model="xgboost")
    with pytest.raises(ValueError, match="encodings"):
        SurrogateBenchmark.fit(bench, encodings=["path"])
    surrogate = SurrogateBenchmark.fit(bench, n_train=30, metrics=("valid",))
    with pytest.raises(ValueError, match="not modelled"):
        surrogate.query(0, "test")


def test_nb201_surrogate_from_ten_percent_ranks_with_tau_above_0_8(nb201_benchmark):
    surrogate = SurrogateBenchmark.fit(
        nb201_benchmark, n_train=0.1, model="hgb", metrics=("valid",), random_state=0
    )
    assert surrogate.encodings == ("effective",)
    assert len(surrogate.train_index) == 1562
    assert surrogate.kendall_tau("valid") >= 0.8


def test_effective_encoding_ignores_edges_off_every_live_path():
    from sknas.spaces import NB201Space

    space = NB201Space()
    # Node 1 gets nothing (edge 0->1 is none), so edges 1->2 and 1->3 are dead.
    dead = space.arch_from_str(
        "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    )
    clean = space.arch_from_str(
        "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    )
    assert space.effective_ops(dead) == space.ops(clean)
    assert np.array_equal(space.encode(dead, "effective"), space.encode(clean, "effective"))
    assert not np.array_equal(space.encode(dead, "onehot"), space.encode(clean, "onehot"))
    assert space.encode(dead, "effective").shape == (35,)
    assert space.encode(dead, "effective")[-5:].tolist() == [3, 1, 0, 2, 0]
