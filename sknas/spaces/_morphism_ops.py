"""Weight surgery behind :mod:`sknas.spaces.morphisms` (imports torch)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from sknas.spaces._mlp_module import MLPBlock


def _error(message: str) -> Exception:
    from sknas.spaces.morphisms import MorphismError

    return MorphismError(message)


def _blocks(module: Any) -> list[Any]:
    """The module's blocks, after checking that it is a plain (non-ensemble) MLP."""
    blocks = getattr(module, "blocks", None)
    head = getattr(module, "head", None)
    if int(getattr(module, "ensemble_size", 1)) > 1:
        raise _error("Network morphisms do not transform TabM ensembles (ensemble_size > 1).")
    if not isinstance(blocks, nn.Sequential) or type(head) is not nn.Linear:
        raise _error(
            f"Network morphisms transform MLPModule networks (blocks and a linear head); "
            f"got {type(module).__name__}."
        )
    for block in blocks:
        body = getattr(block, "body", None)
        if not isinstance(body, nn.Sequential) or type(body[0]) is not nn.Linear:
            raise _error(
                "Network morphisms transform blocks whose first layer is a torch.nn.Linear; "
                f"got {type(block).__name__}."
            )
    return list(blocks)


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer = layer.to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer


def _skip_matrix(block: Any, n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor | None:
    """The skip path of ``block`` as a matrix (None without one)."""
    skip = block.skip
    if skip is None:
        return None
    if isinstance(skip, nn.Linear):
        return skip.weight.detach().clone()
    return torch.eye(n_out, n_in, dtype=like.dtype, device=like.device)


def _widen(module: Any, layer: int, width: int, seed: int) -> None:
    blocks = _blocks(module)
    block = blocks[layer]
    linear = block.body[0]
    old = linear.out_features
    if width <= old:
        raise _error(f"widen: layer {layer} has {old} units, not fewer than {width}.")
    rng = np.random.default_rng(seed)
    mapping = np.concatenate([np.arange(old), rng.integers(old, size=width - old)])
    counts = np.bincount(mapping, minlength=old)
    index = torch.as_tensor(mapping, device=linear.weight.device)
    scale = torch.as_tensor(
        1.0 / counts[mapping], dtype=linear.weight.dtype, device=linear.weight.device
    )
    with torch.no_grad():
        skip = _skip_matrix(block, linear.in_features, old, linear.weight)
        block.body[0] = _linear(linear.weight[index], linear.bias[index])
        norm: Any = block.body[1]
        if isinstance(norm, nn.BatchNorm1d):
            new_norm = copy.deepcopy(norm)
            new_norm.num_features = width
            for name in ("weight", "bias"):
                setattr(new_norm, name, nn.Parameter(getattr(norm, name)[index].clone()))
            for name in ("running_mean", "running_var"):
                new_norm.register_buffer(name, getattr(norm, name)[index].clone())
            block.body[1] = new_norm
        elif not isinstance(norm, nn.Identity):
            raise _error(f"widen: cannot replicate units of a {type(norm).__name__}.")
        if skip is not None:
            block.skip = _linear(skip[index], None)
        if layer + 1 < len(blocks):
            nxt = blocks[layer + 1]
            first = nxt.body[0]
            nxt_skip = _skip_matrix(nxt, old, first.out_features, first.weight)
            nxt.body[0] = _linear(first.weight[:, index] * scale, first.bias)
            if nxt_skip is not None:
                nxt.skip = _linear(nxt_skip[:, index] * scale, None)
        else:
            head = module.head
            module.head = _linear(head.weight[:, index] * scale, head.bias)


def _deepen(module: Any, params: Mapping[str, Any], layer: int, seed: int) -> None:
    blocks = _blocks(module)
    width = blocks[layer].body[0].out_features
    like = blocks[layer].body[0].weight
    residual = bool(params["residual"])
    new = MLPBlock(
        width, width, str(params["activation"]), float(params["dropout"]),
        str(params["norm"]), residual,
    ).to(device=like.device, dtype=like.dtype)
    linear: Any = new.body[0]
    norm: Any = new.body[1]
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        if not residual:
            # Identity: exact for ReLU on the non-negative output of the block before.
            linear.weight.copy_(torch.eye(width, dtype=like.dtype))
            linear.bias.zero_()
            if isinstance(norm, nn.BatchNorm1d):
                # (x - 0) / sqrt((1 - eps) + eps) * 1 + 0: the identity.
                norm.reset_running_stats()
                norm.running_var.fill_(1.0 - norm.eps)  # type: ignore[union-attr]
                norm.weight.fill_(1.0)
                norm.bias.zero_()
        elif isinstance(norm, (nn.BatchNorm1d, nn.LayerNorm)):
            # The body's output is exactly zero through the norm's zero scale and shift;
            # the scale still receives gradients from the (random) normalised values.
            bound = 1.0 / float(np.sqrt(width))
            random = torch.rand(width, width, generator=generator, dtype=like.dtype)
            linear.weight.copy_((2 * random - 1).to(like.device) * bound)
            linear.bias.zero_()
            norm.weight.zero_()
            norm.bias.zero_()
        else:
            linear.weight.zero_()
            linear.bias.zero_()
    new.train(module.training)
    children = [*blocks[: layer + 1], new, *blocks[layer + 1 :]]
    module.blocks = nn.Sequential(*children)


def _add_skip(module: Any) -> None:
    for block in _blocks(module):
        if block.skip is not None:
            raise _error("skip: the network already has skip connections.")
        linear = block.body[0]
        zero = torch.zeros_like(linear.weight.detach())
        block.skip = _linear(zero, None)


def apply_step(module: nn.Module, params: Mapping[str, Any], step: Mapping[str, Any]) -> nn.Module:
    """A transformed copy of ``module`` (``params``: the child architecture's parameters)."""
    child = copy.deepcopy(module)
    op = step["op"]
    if op == "widen":
        _widen(child, int(step["layer"]), int(step["width"]), int(step["seed"]))
    elif op == "deepen":
        _deepen(child, params, int(step["layer"]), int(step["seed"]))
    elif op == "skip":
        _add_skip(child)
    else:
        raise ValueError(f"Unknown morphism step {dict(step)!r}.")
    return child
