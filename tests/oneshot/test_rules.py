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


def test_gdas_temperature_falls_linearly_and_others_geometrically():
    from sknas.oneshot import GDAS, SNAS

    gdas = GDAS(epochs=3)
    assert [gdas.temperature_at(e) for e in range(3)] == pytest.approx([10.0, 5.05, 0.1])
    snas = SNAS(epochs=3, temperature=(1.0, 0.25))
    assert [snas.temperature_at(e) for e in range(3)] == pytest.approx([1.0, 0.5, 0.25])


def test_default_warm_up_follows_each_method():
    from sknas.oneshot import GDAS, PCDARTS, DrNAS

    assert GDAS(epochs=50).setting("warmup_epochs") == 0
    assert PCDARTS(epochs=50).setting("warmup_epochs") == 15  # PC-DARTS: 15 of 50
    assert PCDARTS(epochs=50, warmup_epochs=2).setting("warmup_epochs") == 2
    drnas = DrNAS(epochs=100)  # DrNAS: two stages of 50, each warming up for 10
    assert drnas.stages() == (50, 50) and drnas.setting("warmup_epochs") == 10
    active = [e for e in range(100) if drnas.updates_arch(e)]
    assert active == list(range(10, 50)) + list(range(60, 100))
    single = DrNAS(epochs=10, options={"progressive": False})
    assert single.stages() == (10, 0) and single.setting("warmup_epochs") == 2
    with pytest.raises(ValueError, match="keep"):
        DrNAS(options={"keep": 0}).check()


def test_warm_up_epochs_leave_the_architecture_untouched(data):
    from sknas.oneshot import GDAS

    result = GDAS(epochs=2, batch_size=32, warmup_epochs=1).search(SPACE, data)
    first, second = (np.asarray(h["weights"]) for h in result.history)
    np.testing.assert_allclose(first, 0.2)  # uniform: no architecture step yet
    assert not np.allclose(second, 0.2)


def test_drnas_prunes_each_edge_to_its_strongest_operations(data):
    from sknas.oneshot import DrNAS

    result = DrNAS(epochs=4, batch_size=32, options={"keep": 2}).search(SPACE, data)
    pruned = [h for h in result.history if "pruned_to" in h]
    assert [h["epoch"] for h in pruned] == [1]
    kept = pruned[0]["pruned_to"]
    assert len(kept) == 6 and all(len(ops) == 2 for ops in kept)
    weights = np.asarray(pruned[0]["weights"])  # recorded before pruning
    for row, ops in zip(weights, kept):
        top = {SPACE_OPS[k] for k in np.argsort(-row)[:2]}
        assert top == set(ops)
    mask = result.supernet.mask.numpy()
    assert (mask.sum(axis=1) == 2).all()
    final = np.asarray(result.history[-1]["weights"])
    assert (final[mask == 0] == 0).all()  # pruned operations stay out
    derived = result.candidates[0]
    for e, name in enumerate(result.supernet.param_names):
        assert derived[name] in kept[e]


SPACE_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
