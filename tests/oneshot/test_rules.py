"""Training rules: second-order DARTS, RobustDARTS' eigenvalue, DARTS-PT, ranking, costs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sknas.oneshot import DARTS, DARTSPT, ENAS, RSWS, RobustDARTS, SearchData
from sknas.oneshot._loop import SearchLoop
from sknas.oneshot.costs import expected_cost, op_costs
from sknas.spaces import NB201Space

SPACE = NB201Space(channels=4, cells_per_stage=1, image_shape=(1, 8, 8))


@pytest.fixture(scope="module")
def data() -> SearchData:
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return SearchData(X[:64], y[:64], X[64:96], y[64:96], n_outputs=10, seed=0, n_threads=1)


def test_second_order_step_moves_alphas_differently_from_first_order(data):
    moved = {}
    for order in (1, 2):
        loop = SearchLoop(DARTS(batch_size=32, options={"order": order}), SPACE, data)
        before = loop.net.alphas.detach().clone()
        xt, yt = loop.Xt[:32], loop.yt[:32]
        xv, yv = loop.valid_batch()
        loop.strategy.arch_step(loop, xv, yv, xt, yt)
        moved[order] = loop.net.alphas.detach() - before
        assert all(p.grad is None or not p.grad.any() for p in loop.net.weight_parameters())
    assert moved[1].abs().sum() > 0 and moved[2].abs().sum() > 0
    assert not torch.allclose(moved[1], moved[2])


def test_hessian_eigenvalue_matches_the_dense_hessian(data):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        loop = SearchLoop(DARTS(batch_size=32), SPACE, data)
    loop.net.eval()  # batch statistics fixed: the loss is a function of alphas alone
    xv, yv = loop.Xv[:8], loop.yv[:8]
    loop.valid_batch = lambda: (xv, yv)  # type: ignore[method-assign]

    dense = torch.autograd.functional.hessian(
        lambda a: loop.loss(
            torch.func.functional_call(loop.net, {"alphas": a}, (xv,)), yv
        ),
        loop.net.alphas.detach().clone(),
    ).reshape(30, 30)
    top = torch.linalg.eigvalsh(dense).abs().max()
    estimate = loop.hessian_eigenvalue(n_iter=50)
    assert abs(abs(estimate) - float(top)) < 0.05 * float(top) + 1e-6


def test_robust_darts_rolls_back_when_the_eigenvalue_grows(data, monkeypatch):
    values = iter([1.0, 1.1, 5.0])
    monkeypatch.setattr(SearchLoop, "hessian_eigenvalue", lambda self, n_iter: next(values))
    result = RobustDARTS(epochs=5, batch_size=32, options={"window": 2}).search(SPACE, data)
    assert result.stopped == "early_stop"
    assert len(result.history) == 3 and result.history[-1]["rolled_back_to"] == 0


def test_darts_pt_and_ranking_methods_return_valid_cells(data):
    for strategy in (
        DARTSPT(epochs=1, batch_size=32),
        RSWS(epochs=1, batch_size=32, n_candidates=3, options={"n_samples": 6}),
        ENAS(epochs=1, batch_size=32, options={"n_samples": 4, "controller_steps": 2}),
    ):
        result = strategy.search(SPACE, data)
        for params in result.candidates:
            SPACE.decode(params)
    sampled = result.extras["sampled"]
    assert [s for _, s in sampled] == sorted((s for _, s in sampled), reverse=True)


def test_costs_are_parameter_counts_normalised_per_cell():
    from sknas.oneshot.mixers import make_mixer

    net = SPACE.build_supernet(64, 10, make_mixer("softmax"))
    costs = op_costs(net)
    assert costs.shape == (6, 5)
    assert float(costs[:, [0, 1, 4]].abs().sum()) == 0.0  # none, skip, pooling: free
    assert float(costs.max(dim=1).values.sum()) == pytest.approx(1.0)
    assert 0.0 < float(expected_cost(net).detach()) < 1.0
