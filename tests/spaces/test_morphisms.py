"""Network morphisms compute their parent's function and stay inside the space."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import torch

from sknas.spaces import MLPSpace
from sknas.spaces.morphisms import (
    MORPHISMS,
    MorphismError,
    add_skip,
    apply_morphism,
    deepen,
    plan_morphism,
    widen,
)

ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "leaky_relu", "elu")
NORMS = ("none", "batch", "layer")
SPACE = MLPSpace(
    max_layers=3,
    widths=(6, 8, 12),
    activations=ACTIVATIONS,
    norms=NORMS,
    dropouts=(0.0, 0.3),
)
OPERATORS = {"deepen": deepen, "widen": widen, "skip": add_skip}


def _arch(activation: str, norm: str, residual: bool, dropout: float, widths=(6, 8)):
    params = SPACE.initial_params()[0]
    params.update(
        n_layers=len(widths), activation=activation, norm=norm, residual=residual,
        dropout=dropout,
    )
    params.update({f"units_{i}": w for i, w in enumerate(widths)})
    return SPACE.decode(params)


@functools.cache
def _trained(arch, seed: int = 0) -> torch.nn.Module:
    """A network after 20 Adam steps on random data: non-trivial weights and BN statistics.

    Compared in double precision: the operators are exact in exact arithmetic,
    and float32 rounding of logits of size 10 is itself about 1e-6.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        module = SPACE.build_module(arch, n_features_in=5, n_outputs=3)
    optimizer = torch.optim.Adam(module.parameters(), lr=0.05)
    X = torch.randn(64, 5, generator=generator) * 2 + 1
    y = torch.randint(0, 3, (64,), generator=generator)
    module.train()
    for _ in range(20):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(module(X), y).backward()
        optimizer.step()
    return module.eval().double()


def _expected_refusal(op: str, activation: str, norm: str, residual: bool) -> bool:
    """The documented cases without an exactly preserving child (max_layers not reached)."""
    if op == "deepen":
        if residual:
            return activation == "relu" and norm == "none"
        return activation != "relu" or norm == "layer"
    if op == "widen":
        return norm == "layer"
    return residual


CASES = list(itertools.product(MORPHISMS, ACTIVATIONS, NORMS, (False, True), (0.0, 0.3)))


@pytest.mark.parametrize(("op", "activation", "norm", "residual", "dropout"), CASES)
def test_operator_preserves_function(op, activation, norm, residual, dropout):
    arch = _arch(activation, norm, residual, dropout)
    parent = _trained(arch)
    if _expected_refusal(op, activation, norm, residual):
        with pytest.raises(MorphismError, match=op):
            OPERATORS[op](SPACE, arch, parent, random_state=0)
        return
    X = torch.randn(200, 5, dtype=torch.float64) * 3
    with torch.no_grad():
        before = parent(X)
    for seed in range(2):
        child_arch, child = OPERATORS[op](SPACE, arch, parent, random_state=seed)
        # The child is an architecture of the space, and its module has its shape.
        assert SPACE.decode(SPACE.to_params(child_arch)) == child_arch
        assert child_arch != arch
        assert [b.body[0].out_features for b in child.blocks] == SPACE.layer_widths(child_arch)
        assert child.training is False
        with torch.no_grad():
            after = child(X)
        assert torch.max(torch.abs(after - before)).item() <= 1e-5
        # The parent is left as it was.
        with torch.no_grad():
            assert torch.equal(parent(X), before)
        # A child trains: every new parameter gets a gradient.
        child.train()
        child(X).sum().backward()
        assert all(p.grad is not None for p in child.parameters())
        assert child.blocks[0].body[0].weight.dtype == torch.float64


def test_widen_grows_to_next_choice_and_replicates():
    arch = _arch("relu", "batch", False, 0.0, widths=(6, 12))
    child, step = plan_morphism(SPACE, arch, "widen", np.random.default_rng(0))
    assert step["layer"] == 0 and step["width"] == 8
    assert SPACE.layer_widths(child) == [8, 12]
    _, module = apply_morphism(SPACE, arch, _trained(arch), step)
    weight = module.blocks[0].body[0].weight
    norm = module.blocks[0].body[1]
    assert weight.shape == (8, 5) and norm.running_mean.shape == (8,)


def test_chained_morphisms_preserve_function():
    arch = _arch("relu", "batch", False, 0.3, widths=(6,))
    module = _trained(arch)
    X = torch.randn(100, 5, dtype=torch.float64)
    with torch.no_grad():
        before = module(X)
    rng = np.random.default_rng(1)
    for op in ("widen", "deepen", "skip", "widen", "deepen"):
        _, step = plan_morphism(SPACE, arch, op, rng)
        arch, module = apply_morphism(SPACE, arch, module, step)
    assert SPACE.layer_widths(arch)[:1] == [8] and len(SPACE.layer_widths(arch)) == 3
    with torch.no_grad():
        assert torch.max(torch.abs(module(X) - before)).item() <= 1e-5


def test_limits_of_the_space_are_refused():
    arch = _arch("relu", "none", False, 0.0, widths=(12, 12, 12))
    module = _trained(arch)
    with pytest.raises(MorphismError, match="max_layers"):
        deepen(SPACE, arch, module)
    with pytest.raises(MorphismError, match="widest choice"):
        widen(SPACE, arch, module)
    no_skip = MLPSpace(max_layers=3, widths=(6, 8, 12), residual=(False,))
    plain = no_skip.decode(no_skip.to_params(arch))
    with pytest.raises(MorphismError, match="offers no skip"):
        add_skip(no_skip, plain, module)


def test_unknown_operator_and_foreign_modules_are_refused():
    arch = _arch("relu", "none", False, 0.0)
    with pytest.raises(ValueError, match="Unknown morphism"):
        plan_morphism(SPACE, arch, "shrink", np.random.default_rng(0))
    _, step = plan_morphism(SPACE, arch, "widen", np.random.default_rng(0))
    with pytest.raises(MorphismError, match="MLPModule"):
        apply_morphism(SPACE, arch, torch.nn.Linear(5, 3), step)
