"""PyTorch module of an :class:`~sknas.spaces.MLPSpace` architecture."""

from __future__ import annotations

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


def _norm_layer(kind: str, width: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


class MLPBlock(nn.Module):
    """Linear -> normalisation -> activation -> dropout, with an optional skip path."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str,
        dropout: float,
        norm: str,
        residual: bool,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, n_out),
            _norm_layer(norm, n_out),
            _ACTIVATIONS[activation](),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
        )
        self.skip: nn.Module | None = None
        if residual:
            self.skip = nn.Identity() if n_in == n_out else nn.Linear(n_in, n_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.skip is not None:
            out = out + self.skip(x)
        return out


class MLPModule(nn.Module):
    """A stack of :class:`MLPBlock` followed by a linear head."""

    def __init__(
        self,
        n_features_in: int,
        n_outputs: int,
        widths: list[int],
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str = "none",
        residual: bool = False,
    ) -> None:
        super().__init__()
        blocks = []
        n_in = n_features_in
        for width in widths:
            blocks.append(MLPBlock(n_in, width, activation, dropout, norm, residual))
            n_in = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(n_in, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x))
