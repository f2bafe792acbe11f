"""Figures of ``sknas.plotting``, drawn headless (Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sknas.plotting import (  # noqa: E402
    plot_architecture,
    plot_learning_curves,
    plot_pareto_front,
    plot_score_vs_cost,
    plot_search_history,
)
from sknas.spaces import MLPSpace, NB201Space  # noqa: E402

BEST_CELL = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png(fig: Figure, tmp_path) -> bytes:
    path = tmp_path / "figure.png"
    fig.savefig(path)
    return path.read_bytes()


def test_search_history_shows_every_candidate_and_the_running_best(tiny_search, tmp_path):
    fig = plot_search_history(tiny_search)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    n_complete = int(np.sum(tiny_search.cv_results_["state"] == "COMPLETE"))
    assert len(ax.collections[0].get_offsets()) == n_complete
    best_line = ax.lines[0].get_ydata()
    assert best_line[-1] == pytest.approx(np.nanmax(tiny_search.cv_results_["mean_test_score"]))
    assert np.all(np.diff(best_line) >= 0)
    assert _png(fig, tmp_path)[:4] == b"\x89PNG"


@pytest.mark.parametrize("cost", ["n_parameters", "fit_time", "epochs"])
def test_score_vs_cost(tiny_search, cost):
    fig = plot_score_vs_cost(tiny_search, cost=cost)
    ax = fig.axes[0]
    chosen = ax.collections[1].get_offsets()[0]
    assert chosen[1] == pytest.approx(tiny_search.best_score_)


def test_score_vs_cost_rejects_unknown_cost(tiny_search):
    with pytest.raises(ValueError, match="cost='flops'"):
        plot_score_vs_cost(tiny_search, cost="flops")


def test_learning_curves_are_the_intermediate_values_of_the_top_candidates(tiny_search):
    _, ax = plt.subplots()
    fig = plot_learning_curves(tiny_search, top=2, ax=ax)
    assert fig is ax.get_figure() and len(ax.lines) == 2
    best = tiny_search.study_.trials[int(tiny_search.cv_results_["trial_number"][
        tiny_search.best_index_])]
    steps = sorted(best.intermediate_values)
    np.testing.assert_allclose(ax.lines[0].get_ydata(),
                               [best.intermediate_values[s] for s in steps])
    assert len(steps) >= 1


def test_learning_curves_need_the_study(tiny_search, tmp_path):
    import sknas

    model = sknas.load(tiny_search.save(tmp_path / "m.sknas"))
    with pytest.raises(ValueError, match="study_"):
        plot_learning_curves(model)
    plot_search_history(model)  # cv_results_ is enough for the others


def _two_objective_study() -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["accuracy", "parameters"])
    for acc, size in [(0.9, 100), (0.8, 10), (0.85, 200), (0.95, 1000), (0.7, 50)]:
        study.add_trial(optuna.trial.create_trial(
            values=[acc, size],
            distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
            params={"x": acc},
        ))
    return study


def test_pareto_front_of_a_two_objective_study():
    study = _two_objective_study()
    fig = plot_pareto_front(study)
    ax = fig.axes[0]
    front = ax.lines[0].get_xydata()
    # (0.85, 200) and (0.7, 50) are dominated.
    np.testing.assert_allclose(front, [[0.8, 10], [0.9, 100], [0.95, 1000]])
    assert len(ax.collections[0].get_offsets()) == 2
    assert ax.get_xlabel() == "accuracy (maximize)"
    assert ax.get_ylabel() == "parameters (minimize)"


def test_pareto_front_reads_the_estimators_study(tiny_search):
    with pytest.raises(ValueError, match="single objective"):
        plot_pareto_front(tiny_search)


def test_pareto_front_rejects_bad_objectives():
    with pytest.raises(ValueError, match="two different positions"):
        plot_pareto_front(_two_objective_study(), objectives=(0, 0))


def test_architecture_of_a_fitted_mlp(tiny_search):
    fig = plot_architecture(tiny_search)
    texts = [t.get_text() for t in fig.axes[0].texts]
    widths = tiny_search.search_space_.layer_widths(tiny_search.best_architecture_)
    layers = [t for t in texts if t.startswith("Linear ")]
    assert [int(t.split()[1].rstrip(",")) for t in layers] == widths
    assert texts[0] == "input (64 features)" and "output (10)" in texts


def test_architecture_of_an_nb201_cell():
    space = NB201Space()
    fig = plot_architecture(architecture=space.arch_from_str(BEST_CELL), search_space=space)
    ax = fig.axes[0]
    assert len(ax.patches) == 6  # six edges, none of them 'none'
    all_none = space.arch_from_str("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    fig = plot_architecture(architecture=all_none, search_space=space)
    assert len(fig.axes[0].patches) == 0


def test_architecture_needs_an_estimator_or_both_arguments():
    with pytest.raises(ValueError, match="search_space="):
        plot_architecture(architecture=MLPSpace().sample(np.random.default_rng(0)))
