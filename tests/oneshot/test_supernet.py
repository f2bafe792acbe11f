"""The NAS-Bench-201 supernet computes the discrete cell exactly under one-hot choices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sknas.oneshot.mixers import MIXERS, BinaryGateMixer, make_mixer
from sknas.oneshot.nb201 import NB201Supernet, discrete_state_dict
from sknas.oneshot.supernet import build_supernet, supports_supernet
from sknas.spaces import MLPSpace, NB201Space

SPACE = NB201Space(channels=4, cells_per_stage=1, image_shape=(1, 8, 8))


def _random_cells(n: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(5, size=6).tolist() for _ in range(n)]


def _pair(indices: list[int], mixer: str) -> tuple[NB201Supernet, torch.nn.Module]:
    torch.manual_seed(0)
    net = SPACE.build_supernet(64, 3, make_mixer(mixer))
    # perturb batch-norm statistics and weights so that every module matters
    with torch.no_grad():
        for p in net.weight_parameters():
            p.add_(0.1 * torch.randn_like(p))
    arch = SPACE.decode(net.to_params(indices))
    discrete = SPACE.build_module(arch, 64, 3)
    discrete.load_state_dict(discrete_state_dict(net, indices), strict=True)
    return net, discrete


def _one_hot_alphas(net: NB201Supernet, indices: list[int], low: float) -> None:
    with torch.no_grad():
        net.alphas.fill_(low)
        for e, k in enumerate(indices):
            net.alphas[e, k] = float("inf")


@pytest.mark.parametrize("indices", _random_cells(3, seed=1))
@pytest.mark.parametrize("mixer", ["softmax", "sigmoid", "gumbel_hard", "fixed"])
def test_one_hot_supernet_equals_discrete_cell(indices: list[int], mixer: str) -> None:
    name = "softmax" if mixer == "fixed" else mixer
    net, discrete = _pair(indices, name)
    if mixer == "fixed":
        net.set_fixed(indices)
    elif mixer == "sigmoid":  # sigmoid(+inf) = 1, sigmoid(-inf) = 0
        _one_hot_alphas(net, indices, low=-float("inf"))
    else:  # softmax / Gumbel over logits that are -inf except the chosen op: exactly one-hot
        with torch.no_grad():
            net.alphas.fill_(-float("inf"))
            for e, k in enumerate(indices):
                net.alphas[e, k] = 0.0
    x = torch.randn(5, 64)
    for mode in ("eval", "train"):
        getattr(net, mode)()
        getattr(discrete, mode)()
        with torch.no_grad():
            torch.manual_seed(3)
            expected = discrete(x)
            torch.manual_seed(3)
            got = net(x)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6, rtol=0)
    assert net.argmax_indices() == indices


def test_arch_and_weight_parameters_are_disjoint_and_complete() -> None:
    net = SPACE.build_supernet(64, 3, make_mixer("partial_channel"))
    arch = {id(p) for p in net.arch_parameters()}
    weights = {id(p) for p in net.weight_parameters()}
    assert arch and weights and not arch & weights
    assert arch | weights == {id(p) for p in net.parameters()}
    assert [tuple(p.shape) for p in net.arch_parameters()] == [(6, 5), (6,)]


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_every_mixer_trains_the_architecture(mixer: str) -> None:
    torch.manual_seed(0)
    net = build_supernet(SPACE, 64, 3, mixer)
    net.train()
    if isinstance(net.mixer, BinaryGateMixer):
        net.mixer.arch_step = True
    out = net(torch.randn(6, 64))
    assert out.shape == (6, 3) and torch.isfinite(out).all()
    torch.nn.functional.cross_entropy(out, torch.arange(6) % 3).backward()
    grad = net.alphas.grad
    if mixer == "uniform":  # path sampling has no architecture gradient
        assert grad is None or not grad.any()
    else:
        assert grad is not None and grad.abs().sum() > 0


def test_a_space_without_supernet_is_refused_with_a_clear_error() -> None:
    assert supports_supernet(SPACE) and not supports_supernet(MLPSpace())
    with pytest.raises(ValueError, match="has no supernet.*nb201"):
        build_supernet(MLPSpace(), 4, 2, "softmax")


def test_partial_channels_need_divisible_channels() -> None:
    with pytest.raises(ValueError, match="divisible by k=4"):
        space = NB201Space(channels=6, cells_per_stage=1)
        space.build_supernet(64, 3, make_mixer("partial_channel"))


@pytest.mark.parametrize("affine", [False, True])
def test_cell_batch_norms_are_not_affine_by_default_and_stay_exact(affine: bool) -> None:
    torch.manual_seed(0)
    kwargs = {} if not affine else {"affine": True}
    net = NB201Supernet((1, 8, 8), 3, make_mixer("softmax"), channels=4, cells_per_stage=1,
                        **kwargs)
    cell_norms = [m for name, m in net.named_modules()
                  if name.startswith("cells.0.") and isinstance(m, torch.nn.BatchNorm2d)]
    assert cell_norms and all(m.affine is affine for m in cell_norms)
    assert net.stem[1].affine  # outside the cells, batch norms keep scale and shift
    indices = [3, 2, 0, 3, 1, 4]
    with torch.no_grad():
        for p in net.weight_parameters():
            p.add_(0.1 * torch.randn_like(p))
    discrete = SPACE.build_module(SPACE.decode(net.to_params(indices)), 64, 3)
    discrete.load_state_dict(discrete_state_dict(net, indices), strict=True)
    net.set_fixed(indices)
    net.eval()
    discrete.eval()
    x = torch.randn(4, 64)
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), discrete(x).numpy(), atol=1e-6, rtol=0)


def test_dirichlet_mask_renormalises_the_kept_weights() -> None:
    # identity operations on ones: the edge's output is the sum of its weights
    ops = torch.nn.ModuleList([torch.nn.Identity()] * 5)
    alpha = torch.tensor([0.5, -0.2, 1.0, 0.0, 2.0])
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    x = torch.ones(1, 1)
    dirichlet = make_mixer("dirichlet")
    torch.manual_seed(0)
    for training in (False, True):
        out = dirichlet.mix(ops, x, alpha, training=training, mask=mask)
        assert float(out) == pytest.approx(1.0)
    # other mixers keep the plain product with the mask (DARTS-PT's removal of an op)
    softmax = make_mixer("softmax").mix(ops, x, alpha, training=False, mask=mask)
    expected = float((torch.softmax(alpha, 0) * mask).sum())
    assert float(softmax) == pytest.approx(expected) and expected < 1.0
