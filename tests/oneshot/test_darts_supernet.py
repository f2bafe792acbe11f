"""The DARTS space's supernet: exact one-hot equivalence, DARTS' derivation rule, paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sknas.oneshot.darts_supernet import DARTSSupernet, darts_discrete_state_dict
from sknas.oneshot.mixers import make_mixer
from sknas.oneshot.supernet import build_supernet, supports_supernet
from sknas.spaces import DARTSSpace
from sknas.spaces.darts import DARTS_OPS

# three cells: a normal cell between two reduction cells, so both cell types are checked
SPACE = DARTSSpace(channels=2, cells=3, image_shape=(1, 8, 8))


def _random_paths(n: int, seed: int) -> list[list[int]]:
    net = SPACE.build_supernet(64, 3, make_mixer("softmax"))
    rng = np.random.default_rng(seed)
    return [
        net.path_indices([int(rng.integers(s)) for s in net.path_sizes()]) for _ in range(n)
    ]


def _pair(indices: list[int], mixer: str) -> tuple[DARTSSupernet, torch.nn.Module]:
    torch.manual_seed(0)
    net = SPACE.build_supernet(64, 3, make_mixer(mixer))
    with torch.no_grad():  # every weight (and batch-norm affine) matters
        for p in net.weight_parameters():
            p.add_(0.1 * torch.randn_like(p))
    discrete = SPACE.build_module(SPACE.decode(net.to_params(indices)), 64, 3)
    discrete.load_state_dict(darts_discrete_state_dict(net, indices), strict=True)
    return net, discrete


@pytest.mark.parametrize("indices", _random_paths(2, seed=1))
@pytest.mark.parametrize("mixer", ["softmax", "sigmoid", "gumbel_hard", "fixed"])
def test_one_hot_supernet_equals_the_discrete_network(indices: list[int], mixer: str) -> None:
    net, discrete = _pair(indices, "softmax" if mixer == "fixed" else mixer)
    with torch.no_grad():
        if mixer == "fixed":
            net.set_fixed(indices)
        else:  # -inf except the chosen op (sigmoid: +inf there): exactly one-hot weights
            net.alphas.fill_(-float("inf"))
            for e, k in enumerate(indices):
                net.alphas[e, k] = float("inf") if mixer == "sigmoid" else 0.0
    x = torch.randn(5, 64)
    for mode in ("eval", "train"):
        getattr(net, mode)()
        getattr(discrete, mode)()
        with torch.no_grad():
            expected, got = discrete(x), net(x)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6, rtol=0)
    assert net.argmax_indices() == indices


def test_derivation_keeps_per_node_the_two_inputs_with_the_strongest_real_op() -> None:
    net = SPACE.build_supernet(64, 3, make_mixer("softmax"))
    ops = list(net.ops)
    with torch.no_grad():
        net.alphas.zero_()
        # node 3 of the normal cell: rows 2, 3, 4 are its edges from states 0, 1, 2
        net.alphas[2, ops.index("none")] = 9.0  # strongest overall, but "none" is not derived
        net.alphas[3, ops.index("sep_conv_3x3")] = 5.0
        net.alphas[4, ops.index("skip_connect")] = 3.0
    params = net.to_params(net.argmax_indices())
    assert {params["normal_3_0_input"], params["normal_3_1_input"]} == {1, 2}
    assert {params["normal_3_0_op"], params["normal_3_1_op"]} == {"sep_conv_3x3", "skip_connect"}
    arch = SPACE.decode(params)  # a valid parameter dict of the space
    for (cell, node) in [(c, j) for c in ("normal", "reduce") for j in range(2, 6)]:
        inputs = {params[f"{cell}_{node}_{k}_input"] for k in (0, 1)}
        assert len(inputs) == 2 and max(inputs) < node
        assert "none" not in {params[f"{cell}_{node}_{k}_op"] for k in (0, 1)}
    assert str(arch).startswith("Genotype(normal=")


@pytest.mark.parametrize("mixer", ["softmax", "partial_channel", "dirichlet"])
def test_derivation_of_a_published_cell_round_trips(mixer: str) -> None:
    space = DARTSSpace(channels=4, cells=3, image_shape=(1, 8, 8))
    net = space.build_supernet(64, 3, make_mixer(mixer))
    v2 = DARTSSpace.cell("darts_v2")
    with torch.no_grad():
        net.alphas.fill_(-3.0)
        for e, k in enumerate(net.indices_of(dict(v2.params))):
            if k != net.none_index:
                net.alphas[e, k] = 3.0
    assert space.decode(net.to_params(net.argmax_indices())) == v2


def test_sampled_paths_are_cells_of_the_space() -> None:
    net = SPACE.build_supernet(64, 3, make_mixer("uniform"))
    assert net.path_sizes()[:6] == [1, 7, 7, 3, 7, 7]  # input pair, two ops; node 2 then 3
    for path in _random_paths(20, seed=2):
        params = net.to_params(path)
        assert net.indices_of(params) == path
        SPACE.decode(params)
    with pytest.raises(ValueError, match="takes two"):
        net.to_params([net.none_index] * len(net.choices))


def test_partial_channels_bypass_strided_edges_and_need_divisible_channels() -> None:
    space = DARTSSpace(channels=4, cells=3, image_shape=(1, 9, 9))
    net = build_supernet(space, 81, 3, "partial_channel")
    out = net(torch.randn(2, 81))
    assert out.shape == (2, 3) and torch.isfinite(out).all()
    assert [tuple(p.shape) for p in net.arch_parameters()] == [(28, 8), (28,)]
    with pytest.raises(ValueError, match="divisible by k=4"):
        build_supernet(DARTSSpace(channels=6, cells=1), 64, 3, "partial_channel")


def test_a_space_without_none_still_has_zero_edges_but_never_derives_them() -> None:
    space = DARTSSpace(channels=2, cells=1, n_nodes=2, ops=("skip_connect", "sep_conv_3x3"))
    assert supports_supernet(space)
    net = space.build_supernet(64, 3, make_mixer("softmax"))
    assert net.ops == ("skip_connect", "sep_conv_3x3", "none")
    assert len(net.choices) == 2 * 5 and len(DARTS_OPS) == 8
    params = net.to_params(net.argmax_indices())
    assert set(params[k] for k in params if k.endswith("_op")) <= {"skip_connect", "sep_conv_3x3"}


def test_second_order_step_runs_through_the_darts_supernet() -> None:
    from sklearn.datasets import load_digits

    from sknas.oneshot import DARTS, SearchData
    from sknas.oneshot._loop import SearchLoop

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    data = SearchData(X[:16], y[:16], X[16:32], y[16:32], n_outputs=10, seed=0, n_threads=1)
    space = DARTSSpace(channels=2, cells=1, n_nodes=2, image_shape=(1, 8, 8))
    loop = SearchLoop(DARTS(batch_size=16, options={"order": 2}), space, data)
    alphas = loop.net.alphas.detach().clone()
    weights = [p.detach().clone() for p in loop.net.weight_parameters()]
    loss = loop.strategy.arch_step(loop, loop.Xv, loop.yv, loop.Xt, loop.yt)
    assert np.isfinite(loss)
    moved = (loop.net.alphas.detach() - alphas).abs()
    assert moved[5:].sum() > 0 and moved[:5].sum() == 0  # only the reduction rows are used
    assert all(torch.equal(w, p) for w, p in zip(weights, loop.net.weight_parameters()))
