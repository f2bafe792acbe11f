"""PyTorch module of an :class:`~sknas.spaces.MLPSpace` architecture."""

from __future__ import annotations

from typing import Any

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


class SmoothClip(nn.Module):
    """Soft clipping of standardised inputs: ``x / sqrt(1 + (x / bound) ** 2)``.

    RealMLP's robust preprocessing (Holzmüller et al., 2024): values near zero
    pass almost unchanged, outliers are squashed towards ``±bound`` without
    the kink of a hard clip, so heavy-tailed features cannot dominate a layer.

    Parameters
    ----------
    bound : float, default=3.0
        Limit the output approaches for large ``|x|``.
    """

    def __init__(self, bound: float = 3.0) -> None:
        super().__init__()
        self.bound = float(bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(1.0 + (x / self.bound) ** 2)


class MLPModule(nn.Module):
    """Optional input clipping and numeric embeddings, a stack of :class:`MLPBlock`, a linear head.

    Parameters
    ----------
    n_features_in : int
        Input width.
    n_outputs : int
        Output width.
    widths : list of int
        Hidden layer widths.
    activation, dropout, norm, residual
        As in :class:`MLPBlock`.
    embedding : {"none", "periodic"}, default="none"
        ``"periodic"`` embeds each input feature with periodic functions of
        learned frequencies followed by a shared linear layer and ReLU
        (``rtdl_num_embeddings.PeriodicEmbeddings(lite=True)``, the "PLR(lite)"
        embedding of Gorishniy et al., 2022) before the blocks.
    embedding_dim : int, default=16
        Size of each feature's embedding.
    embedding_scale : float, default=0.1
        Standard deviation of the initial frequencies (the embeddings' most
        important setting).
    ensemble_size : int, default=1
        ``k > 1`` makes the network a TabM ensemble (Gorishniy et al., 2025):
        every linear layer becomes a BatchEnsemble layer (``tabm``) that shares
        its weight matrix across ``k`` members with per-member scalings, the
        head is one linear layer per member. In training mode the output has
        shape ``(batch, k, n_outputs)`` (each member is trained on the loss);
        in evaluation mode it is the members' mean, ``(batch, n_outputs)``.
    input_clip : bool, default=False
        Pass the (standardised) inputs through :class:`SmoothClip` first.
    """

    def __init__(
        self,
        n_features_in: int,
        n_outputs: int,
        widths: list[int],
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str = "none",
        residual: bool = False,
        embedding: str = "none",
        embedding_dim: int = 16,
        embedding_scale: float = 0.1,
        ensemble_size: int = 1,
        input_clip: bool = False,
    ) -> None:
        super().__init__()
        self.input_clip: nn.Module | None = SmoothClip() if input_clip else None
        self.embedding: nn.Module | None = None
        n_in = n_features_in
        if embedding == "periodic":
            from rtdl_num_embeddings import PeriodicEmbeddings

            self.embedding = PeriodicEmbeddings(
                n_features_in, embedding_dim, frequency_init_scale=embedding_scale, lite=True
            )
            n_in = n_features_in * embedding_dim
        elif embedding != "none":
            raise ValueError(f"Unknown embedding {embedding!r}; expected 'none' or 'periodic'.")
        blocks = []
        for width in widths:
            blocks.append(MLPBlock(n_in, width, activation, dropout, norm, residual))
            n_in = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(n_in, n_outputs)
        self.ensemble_size = int(ensemble_size)
        if self.ensemble_size > 1:
            _make_ensemble(self, self.ensemble_size, embedded=self.embedding is not None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_clip is not None:
            x = self.input_clip(x)
        if self.embedding is not None:
            x = self.embedding(x).flatten(1)
        if self.ensemble_size > 1:
            x = x.unsqueeze(1).expand(-1, self.ensemble_size, -1)
        out = self.head(self.blocks(x))
        if self.ensemble_size > 1 and not self.training:
            out = out.mean(dim=1)
        return out


def _make_ensemble(module: MLPModule, k: int, *, embedded: bool) -> None:
    """Turn ``module``'s layers into ``k``-member TabM ensemble layers, in place."""
    import tabm

    linears = [m for m in module.blocks.modules() if isinstance(m, nn.Linear)]
    blocks: list[Any] = list(module.blocks)
    first = [blocks[0].body[0]] if blocks else []
    rest = [m for m in linears if all(m is not f for f in first)]
    # TabM's initialisation: random signs (or normal after embeddings) for the first
    # layer's input scaling, ones elsewhere, so the members start as one network.
    if first:
        tabm.batchensemble_linear_layers_(
            module.blocks, include=first, k=k,
            scaling_init=("normal" if embedded else "random-signs", "ones"),
        )
    if rest:
        tabm.batchensemble_linear_layers_(module.blocks, include=rest, k=k, scaling_init="ones")
    tabm.ensemble_batchnorm1d_layers_(module.blocks, k=k)
    module.head = tabm.LinearEnsemble(module.head.in_features, module.head.out_features, k=k)
