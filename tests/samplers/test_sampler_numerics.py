"""The samplers' numerics come from torch, scikit-learn and SciPy, with unchanged results.

The reference numbers were produced by the earlier hand-written versions (an
explicit Adam update, a numpy LSTM, a normal-equation ridge) on the same fixed
inputs; the library versions must reproduce them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from sknas._search import run_search
from sknas.samplers import BananasSampler, LocalSearchSampler
from sknas.samplers._ensemble import fit_predict_ensemble
from sknas.samplers.local_search import _clipped_ridge
from sknas.spaces.base import SearchSpace
from sknas.spaces.nb201 import NB201Space
from tests.samplers.conftest import ToySpace, toy_value

optuna.logging.set_verbosity(optuna.logging.WARNING)

PROPOSALS = json.loads((Path(__file__).parent / "data" / "fixed_seed_proposals.json").read_text())


def test_ridge_equals_the_closed_form_on_centred_targets() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(30, 6)).astype(float)
    y = X @ rng.normal(size=6) + rng.normal(scale=0.1, size=30)
    X_new = rng.integers(0, 3, size=(10, 6)).astype(float)
    alpha = 2.0
    target = np.maximum(y, np.median(y))
    centre = target.mean()
    weights = np.linalg.solve(X.T @ X + alpha * np.eye(6), X.T @ (target - centre))
    expected = X_new @ weights + centre
    np.testing.assert_allclose(_clipped_ridge(X, y, X_new, alpha), expected, rtol=1e-10)
    # the penalty matters: a different alpha gives different predictions
    assert not np.allclose(_clipped_ridge(X, y, X_new, 200.0), expected, rtol=1e-3)


def test_ensemble_predictions_match_the_reference() -> None:
    rng = np.random.default_rng(0)
    X, y, X_new = rng.random((8, 5)), rng.random(8), rng.random((4, 5))
    pred = fit_predict_ensemble(
        X, y, X_new, n_models=2, hidden_size=8, n_layers=2, n_epochs=50, learning_rate=0.01, seed=3
    )
    reference = [
        [0.49293, 0.424773, 0.516454, 0.503956],
        [0.388285, 0.256453, 0.491037, 0.429162],
    ]
    np.testing.assert_allclose(pred, reference, atol=2e-5)


#: ``(log p([2, 0, 1]), entropy)`` before and after each of three Adam steps.
CONTROLLER_REFERENCE = {
    "lstm": [
        [-3.1796059777124195, 3.1780495084756364],
        [-3.3131869246227392, 3.1734420650301445],
        [-3.3996840092586393, 3.1692536470658306],
        [-3.4574368927389845, 3.1646441142718857],
    ],
    "independent": [
        [-3.1780538303479458, 3.1780538303479453],
        [-3.2897127969075477, 3.1747021379093576],
        [-3.3783528922257986, 3.170337419157342],
        [-3.4430204342649384, 3.165440987400432],
    ],
}


@pytest.mark.parametrize("kind", sorted(CONTROLLER_REFERENCE))
def test_controller_scores_and_steps_match_the_reference(kind: str) -> None:
    from sknas.samplers._controller import Controller

    controller = Controller([3, 4, 2], kind, hidden=5, seed=123, lr=0.05)
    seen = []
    for step in range(4):
        if step:
            k = step - 1
            controller.step([k % 3, (k + 1) % 4, k % 2], 1.5 - k, 1e-3)
        _, log_prob, entropy = controller([2, 0, 1])
        seen.append([log_prob.item(), entropy.item()])
    np.testing.assert_allclose(seen, CONTROLLER_REFERENCE[kind], rtol=1e-12)


def test_controller_samples_follow_its_policy() -> None:
    import torch

    from sknas.samplers._controller import Controller

    controller = Controller([2, 3], "independent", hidden=4, seed=0, lr=0.1)
    with torch.no_grad():
        controller.logits.copy_(torch.tensor([0.0, 3.0, 0.0, 0.0, 5.0], dtype=torch.float64))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        draws = np.array([controller.sample() for _ in range(400)])
    # p(second choice) = e^3 / (1 + e^3) ~ 0.95; p(third of three) = e^5 / (2 + e^5) ~ 0.99
    assert 0.9 < np.mean(draws[:, 0] == 1) <= 1.0
    assert np.mean(draws[:, 1] == 2) > 0.95
    _, log_prob, _ = controller([1, 2])
    assert log_prob.item() == pytest.approx(
        3 - np.log(1 + np.exp(3)) + 5 - np.log(2 + np.exp(5)), rel=1e-12
    )


def _nb_value(params: dict[str, Any]) -> float:
    ops = list(params.values())
    return float(ops.count("nor_conv_3x3") + 0.1 * ops.count("skip_connect"))


CASES = {
    "local_search_counts_toy": (
        lambda s, sp: LocalSearchSampler(
            n_startup_trials=3, model_features="counts", seed=s, search_space=sp
        ),
        "toy",
        25,
    ),
    "local_search_pooled_nb201": (
        lambda s, sp: LocalSearchSampler(
            n_startup_trials=3, model_features="pooled", seed=s, search_space=sp
        ),
        "nb201",
        25,
    ),
    "bananas_ei_toy": (
        lambda s, sp: BananasSampler(
            n_models=2, n_epochs=30, acquisition="ei", n_startup_trials=3, seed=s, search_space=sp
        ),
        "toy",
        10,
    ),
    "bananas_its_nb201": (
        lambda s, sp: BananasSampler(
            n_models=2,
            n_epochs=30,
            n_startup_trials=3,
            candidate_pool="mutation",
            seed=s,
            search_space=sp,
        ),
        "nb201",
        10,
    ),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", sorted(CASES))
def test_proposals_on_fixed_seeds_are_unchanged(case: str, seed: int) -> None:
    make, space_name, n_trials = CASES[case]
    space: SearchSpace = ToySpace() if space_name == "toy" else NB201Space()
    value = toy_value if space_name == "toy" else _nb_value
    study = optuna.create_study(direction="maximize", sampler=make(seed, space))
    run_search(study, space, lambda t, a: value(a.params), n_trials=n_trials)
    keys = [space.decode(t.params).key() for t in study.trials]
    assert keys == PROPOSALS[f"{case}_{seed}"]
