"""Zero-cost proxies: finite, deterministic, side-effect free, and known orderings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from sknas.proxies import PROXIES, compute_proxy
from sknas.spaces import NB201Space

ALL_CONV = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SPACE = NB201Space(channels=2, cells_per_stage=1, image_shape=(3, 8, 8))


def _mlp(dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 3)
    )


def _cell(arch_str: str = ALL_CONV) -> nn.Module:
    torch.manual_seed(0)
    return SPACE.build_module(SPACE.arch_from_str(arch_str), 3 * 8 * 8, 3)


def _batch(n_features: int, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, n_features)).astype(np.float32), rng.integers(0, 3, size=n)


CASES = [("mlp", _mlp, 4), ("nb201", _cell, 192), ("mlp_dropout", lambda: _mlp(0.5), 4)]


@pytest.mark.parametrize("name", sorted(PROXIES))
@pytest.mark.parametrize(("kind", "build", "width"), CASES, ids=[c[0] for c in CASES])
def test_finite_deterministic_and_side_effect_free(name, kind, build, width):
    module = build()
    module.train()
    X, y = _batch(width)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    rng_before = torch.get_rng_state()
    first = compute_proxy(name, module, X, y)
    second = PROXIES[name](module, torch.as_tensor(X), torch.as_tensor(y))
    assert isinstance(first, float) and math.isfinite(first)
    assert first == second
    assert torch.equal(torch.get_rng_state(), rng_before)
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in module.parameters())
    assert all(p.dtype == torch.float32 for p in module.parameters())
    assert module.training


def test_params_counts_exactly():
    assert compute_proxy("params", _mlp()) == (4 * 8 + 8) + 2 * 8 + (8 * 3 + 3)
    module = _cell()
    assert compute_proxy("params", module) == sum(p.numel() for p in module.parameters())


def test_synflow_is_data_free_and_zero_without_a_path():
    X = np.zeros((1, 192), dtype=np.float32)
    assert compute_proxy("synflow", _cell(ALL_NONE), X) == 0.0
    assert compute_proxy("synflow", _cell(ALL_CONV), X) > 0.0
    assert compute_proxy("synflow", _cell(ALL_CONV), X) == compute_proxy(
        "synflow", _cell(ALL_CONV), np.ones((5, 192))
    )


@pytest.mark.parametrize("name", ["snip", "grad_norm"])
def test_gradient_proxies_are_zero_without_a_path(name):
    X, y = _batch(192)
    assert compute_proxy(name, _cell(ALL_NONE), X, y) == 0.0
    assert compute_proxy(name, _cell(ALL_CONV), X, y) > 0.0


def test_naswot_ranks_a_cell_without_path_last():
    X, _ = _batch(192)
    assert compute_proxy("naswot", _cell(ALL_NONE), X) == -math.inf
    assert compute_proxy("naswot", _cell(ALL_CONV), X) > -math.inf


def test_naswot_matches_its_hamming_definition():
    module = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    X, _ = _batch(4, n=5)
    codes = (module[0](torch.as_tensor(X)) > 0).double()
    hamming = torch.cdist(codes, codes, p=1)
    expected = torch.linalg.slogdet(codes.shape[1] - hamming)[1]
    assert compute_proxy("naswot", module, X) == pytest.approx(float(expected))


def test_regression_targets_use_squared_error():
    X, _ = _batch(4)
    y = np.linspace(0.0, 1.0, 8)
    module = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 1))
    assert compute_proxy("snip", module, X, y) > 0.0


def test_registry_errors():
    module = _mlp()
    X, y = _batch(4)
    with pytest.raises(ValueError, match="Unknown zero-cost proxy 'nope'.*synflow"):
        compute_proxy("nope", module, X, y)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        compute_proxy("synflow", "not a module", X)
    with pytest.raises(ValueError, match="needs targets y"):
        compute_proxy("snip", module, X)
    with pytest.raises(ValueError, match="needs a batch X"):
        compute_proxy("naswot", module)
    with pytest.raises(ValueError, match="y has 3 rows"):
        compute_proxy("grad_norm", module, X, y[:3])
    with pytest.raises(ValueError, match="rectifier"):
        compute_proxy("naswot", nn.Linear(4, 3), X)
    with pytest.raises(TypeError):
        PROXIES["mine"] = lambda m, X, y: 0.0  # type: ignore[index]
