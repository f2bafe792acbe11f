"""Search space of multilayer perceptrons for tabular data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["MLPSpace"]

ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "leaky_relu", "elu")
NORMS = ("none", "batch", "layer")
OPTIMIZERS = ("adam", "adamw", "sgd")
EMBEDDINGS = ("none", "periodic")

_NORM_NAMES = {"none": "no norm", "batch": "batch norm", "layer": "layer norm"}


class MLPSpace(SearchSpace):
    """Multilayer perceptrons and the training choices that make them work.

    Each candidate has ``n_layers`` hidden layers with their own width, one
    activation, dropout, normalisation and optional residual (skip)
    connections, plus the learning rate, weight decay, batch size and
    optimiser used to train it.

    Parameters
    ----------
    max_layers : int, default=3
        Largest number of hidden layers; at least one layer is always used.
    widths : sequence of int, default=(16, 32, 64, 128, 256, 512)
        Widths a hidden layer may take.
    activations : sequence of str, default=("relu", "gelu", "silu", "tanh")
        Activation functions to choose from (also available: "leaky_relu", "elu").
    dropouts : sequence of float, default=(0.0, 0.1, 0.2, 0.3)
        Dropout rates to choose from.
    norms : sequence of str, default=("none", "batch", "layer")
        Normalisation after each linear layer.
    residual : sequence of bool, default=(False, True)
        Whether skip connections may be used.
    lr_range : tuple of float, default=(1e-4, 1e-2)
        Learning-rate range, searched on a log scale.
    weight_decay_range : tuple of float, default=(1e-6, 1e-2)
        Weight-decay range, searched on a log scale.
    batch_sizes : sequence of int, default=(32, 64, 128, 256)
        Mini-batch sizes to choose from.
    optimizers : sequence of str, default=("adam", "adamw")
        Optimisers to choose from (also available: "sgd", with Nesterov momentum 0.9).
    embeddings : sequence of str, default=("none",)
        Numeric-feature embeddings to choose from: ``"none"`` feeds the
        standardised features to the first layer, ``"periodic"`` embeds each
        feature first (PLR-lite embeddings of ``rtdl_num_embeddings``, whose
        initial frequency scale is then searched in ``embedding_scale_range``).
    embedding_scale_range : tuple of float, default=(0.01, 10.0)
        Range of the periodic embeddings' frequency scale, searched on a log scale.
    ensemble_sizes : sequence of int, default=(1,)
        Members of a TabM ensemble (BatchEnsemble layers sharing their weights,
        trained together, predictions averaged) to choose from; 1 is a plain MLP.
    input_clips : sequence of bool, default=(False,)
        Whether the standardised inputs are soft-clipped first
        (``x / sqrt(1 + (x / 3) ** 2)``, RealMLP's robust scaling), which tames
        heavy-tailed features; ``(False, True)`` lets the search decide.
    label_smoothings : sequence of float, default=(0.0, 0.1)
        Label smoothing of the classification loss to choose from (each
        target spreads this share of its probability evenly over the classes;
        RealMLP's tuned defaults use 0.1; a regressor's search uses ``(0.0,)``,
        as its loss has no labels to smooth). Several
        values are searched, and the first candidate uses 0.1 when offered;
        one value is a fixed training setting. Use ``(0.0,)`` for the plain
        loss, for instance when ``scoring`` judges calibrated probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> space = MLPSpace(max_layers=2)
    >>> arch = space.sample(np.random.default_rng(0))
    >>> arch.space
    'mlp'
    >>> space.decode(space.to_params(arch)) == arch
    True
    """

    name = "mlp"
    #: Small dense layers train fastest on one thread: more threads cost more
    #: in synchronisation than they save, and suffer badly from oversubscription.
    preferred_threads = 1

    def __init__(
        self,
        max_layers: int = 3,
        widths: Sequence[int] = (16, 32, 64, 128, 256, 512),
        activations: Sequence[str] = ("relu", "gelu", "silu", "tanh"),
        dropouts: Sequence[float] = (0.0, 0.1, 0.2, 0.3),
        norms: Sequence[str] = NORMS,
        residual: Sequence[bool] = (False, True),
        lr_range: tuple[float, float] = (1e-4, 1e-2),
        weight_decay_range: tuple[float, float] = (1e-6, 1e-2),
        batch_sizes: Sequence[int] = (32, 64, 128, 256),
        optimizers: Sequence[str] = ("adam", "adamw"),
        embeddings: Sequence[str] = ("none",),
        embedding_scale_range: tuple[float, float] = (0.01, 10.0),
        ensemble_sizes: Sequence[int] = (1,),
        input_clips: Sequence[bool] = (False,),
        label_smoothings: Sequence[float] = (0.0, 0.1),
    ) -> None:
        self.max_layers = max_layers
        self.widths = widths
        self.activations = activations
        self.dropouts = dropouts
        self.norms = norms
        self.residual = residual
        self.lr_range = lr_range
        self.weight_decay_range = weight_decay_range
        self.batch_sizes = batch_sizes
        self.optimizers = optimizers
        self.embeddings = embeddings
        self.embedding_scale_range = embedding_scale_range
        self.ensemble_sizes = ensemble_sizes
        self.input_clips = input_clips
        self.label_smoothings = label_smoothings

    # -- structure -----------------------------------------------------------------
    def _check_config(self) -> None:
        if not isinstance(self.max_layers, int) or self.max_layers < 1:
            raise ValueError(
                f"MLPSpace: max_layers must be an int >= 1, got {self.max_layers!r}."
            )
        for name, allowed in (
            ("activations", ACTIVATIONS),
            ("norms", NORMS),
            ("optimizers", OPTIMIZERS),
            ("embeddings", EMBEDDINGS),
        ):
            values = list(getattr(self, name))
            if not values:
                raise ValueError(f"MLPSpace: {name} must not be empty.")
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise ValueError(
                    f"MLPSpace: unknown {name} {unknown}; allowed: {list(allowed)}."
                )
        for name in ("widths", "batch_sizes", "ensemble_sizes"):
            values = list(getattr(self, name))
            if not values or any(not isinstance(v, int) or v < 1 for v in values):
                raise ValueError(
                    f"MLPSpace: {name} must be a non-empty list of positive ints, got {values!r}."
                )
        clips = list(self.input_clips)
        if not clips or any(not isinstance(c, bool) for c in clips):
            raise ValueError(
                f"MLPSpace: input_clips must be a non-empty list of bools, got {clips!r}."
            )
        smoothings = list(self.label_smoothings)
        if not smoothings or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1
            for v in smoothings
        ):
            raise ValueError(
                "MLPSpace: label_smoothings must be a non-empty list of floats in [0, 1), "
                f"got {smoothings!r}."
            )
        for name in ("lr_range", "weight_decay_range", "embedding_scale_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(
                    f"MLPSpace: {name} must be (low, high) with 0 < low <= high, "
                    f"got {(low, high)!r}."
                )

    def distributions(self) -> dict[str, BaseDistribution]:
        """Flat dict of distributions; widths of unused layers are ignored by :meth:`decode`."""
        self._check_config()
        dists: dict[str, BaseDistribution] = {
            "n_layers": IntDistribution(1, self.max_layers),
        }
        for i in range(self.max_layers):
            dists[f"units_{i}"] = CategoricalDistribution(list(self.widths))
        dists["activation"] = CategoricalDistribution(list(self.activations))
        dists["dropout"] = CategoricalDistribution([float(d) for d in self.dropouts])
        dists["norm"] = CategoricalDistribution(list(self.norms))
        dists["residual"] = CategoricalDistribution([bool(r) for r in self.residual])
        dists["lr"] = FloatDistribution(*self.lr_range, log=True)
        dists["weight_decay"] = FloatDistribution(*self.weight_decay_range, log=True)
        dists["batch_size"] = CategoricalDistribution(list(self.batch_sizes))
        dists["optimizer"] = CategoricalDistribution(list(self.optimizers))
        # The modern blocks have parameters only when the space offers a choice, so a
        # plain-MLP space has exactly the plain MLP's parameters.
        if list(self.embeddings) != ["none"]:
            dists["embedding"] = CategoricalDistribution(list(self.embeddings))
            dists["embedding_scale"] = FloatDistribution(*self.embedding_scale_range, log=True)
        if list(self.ensemble_sizes) != [1]:
            dists["ensemble_size"] = CategoricalDistribution([int(k) for k in self.ensemble_sizes])
        if list(self.input_clips) != [False]:
            dists["input_clip"] = CategoricalDistribution([bool(c) for c in self.input_clips])
        if len(set(self.label_smoothings)) > 1:
            dists["label_smoothing"] = CategoricalDistribution(
                [float(v) for v in self.label_smoothings]
            )
        return dists

    def _label_smoothing(self, params: Mapping[str, Any]) -> float:
        """The label smoothing of ``params``: searched, or the space's one value."""
        if "label_smoothing" in params:
            return float(params["label_smoothing"])
        return float(list(self.label_smoothings)[0])

    def _blocks(self, params: Mapping[str, Any]) -> tuple[str, float, int]:
        """The embedding, its frequency scale and the ensemble size of ``params``."""
        embedding = str(params.get("embedding", "none"))
        scale = float(params.get("embedding_scale", 0.0)) if embedding != "none" else 0.0
        return embedding, scale, int(params.get("ensemble_size", 1))

    def decode(self, params: Mapping[str, Any]) -> Architecture:
        """Build the :class:`Architecture` for a full parameter dict.

        Parameters
        ----------
        params : mapping
            One value for every name in :meth:`distributions`.

        Returns
        -------
        Architecture
        """
        self.check_params(params)
        n_layers = int(params["n_layers"])
        widths = [int(params[f"units_{i}"]) for i in range(n_layers)]
        embedding, scale, k = self._blocks(params)
        clip = bool(params.get("input_clip", False))
        modern = ["clip"] if clip else []
        if embedding != "none":
            modern.append(f"emb={embedding}:{scale:.3g}")
        if k > 1:
            modern.append(f"k={k}")
        canonical = "|".join(
            [
                *modern,
                "-".join(map(str, widths)),
                str(params["activation"]),
                f"drop={float(params['dropout']):g}",
                f"norm={params['norm']}",
                f"res={int(bool(params['residual']))}",
                str(params["optimizer"]),
                f"lr={float(params['lr']):.3g}",
                f"wd={float(params['weight_decay']):.3g}",
                f"bs={int(params['batch_size'])}",
                *([f"ls={float(params['label_smoothing']):g}"]
                  if "label_smoothing" in params else []),
            ]
        )
        plural = "layer" if n_layers == 1 else "layers"
        prefix = "soft-clipped inputs, " if clip else ""
        prefix += f"TabM ensemble of {k}, " if k > 1 else ""
        if embedding != "none":
            prefix += f"{embedding} embeddings (scale {scale:.2g}), "
        description = prefix + (
            f"{n_layers} hidden {plural} [{'-'.join(map(str, widths))}], "
            f"{params['activation']}, dropout {float(params['dropout']):g}, "
            f"{_NORM_NAMES[str(params['norm'])]}"
            f"{', residual' if params['residual'] else ''}; "
            f"{params['optimizer']} lr {float(params['lr']):.2e}, "
            f"weight decay {float(params['weight_decay']):.1e}, "
            f"batch {int(params['batch_size'])}"
        )
        if "label_smoothing" in params:
            description += f", label smoothing {float(params['label_smoothing']):g}"
        return Architecture.from_params(
            self.name, params, canonical=canonical, description=description
        )

    def initial_params(self) -> list[dict[str, Any]]:
        """Conventional MLPs to try first, within this space's choices.

        The first: two hidden layers of width 256, ReLU, no dropout or
        normalisation, Adam with learning rate 1e-3, weight decay 1e-5 and
        batch size 128 — each replaced by the nearest choice the space offers
        (a TabM ensemble of 8 and soft-clipped inputs when the space offers
        them). When the space offers both plain inputs and periodic
        embeddings, the second is the same network with periodic embeddings
        (scale 0.1), so the search compares the two at once: the embeddings
        help some tables by several points and hurt others.

        Returns
        -------
        list of dict
            One parameter dict per candidate, first to try first.
        """
        dists = self.distributions()

        def pick(name: str, preferred: Any) -> Any:
            dist = dists[name]
            if isinstance(dist, CategoricalDistribution):
                choices = list(dist.choices)
                if preferred in choices:
                    return preferred
                numeric = [c for c in choices if isinstance(c, (int, float))]
                if len(numeric) == len(choices):
                    return min(numeric, key=lambda c: abs(float(c) - float(preferred)))
                return choices[0]
            assert isinstance(dist, (IntDistribution, FloatDistribution))
            return type(preferred)(min(max(preferred, dist.low), dist.high))

        params: dict[str, Any] = {"n_layers": pick("n_layers", 2)}
        for i in range(self.max_layers):
            params[f"units_{i}"] = pick(f"units_{i}", 256)
        params.update(
            activation=pick("activation", "relu"),
            dropout=pick("dropout", 0.0),
            norm=pick("norm", "none"),
            residual=pick("residual", False),
            lr=pick("lr", 1e-3),
            weight_decay=pick("weight_decay", 1e-5),
            batch_size=pick("batch_size", 128),
            optimizer=pick("optimizer", "adam"),
        )
        for name, preferred in (
            ("embedding", "none"), ("embedding_scale", 0.1), ("ensemble_size", 8),
            ("input_clip", True), ("label_smoothing", 0.1),
        ):
            if name in dists:
                params[name] = pick(name, preferred)
        candidates = [params]
        if params.get("embedding") == "none" and "periodic" in self.embeddings:
            candidates.append({**params, "embedding": "periodic"})
        return candidates

    def layer_widths(self, arch: Architecture) -> list[int]:
        """Widths of the hidden layers that ``arch`` actually uses.

        Parameters
        ----------
        arch : Architecture
            An MLP architecture of this space.

        Returns
        -------
        list of int
        """
        params = arch.params
        return [int(params[f"units_{i}"]) for i in range(int(params["n_layers"]))]

    def training_config(self, arch: Architecture) -> dict[str, Any]:
        """The training choices of ``arch``: lr, weight decay, batch size, optimiser, smoothing.

        Parameters
        ----------
        arch : Architecture
            An MLP architecture of this space.

        Returns
        -------
        dict
            Keys ``lr``, ``weight_decay``, ``batch_size``, ``optimizer`` and
            ``label_smoothing``.
        """
        params = arch.params
        return {
            "lr": float(params["lr"]),
            "weight_decay": float(params["weight_decay"]),
            "batch_size": int(params["batch_size"]),
            "optimizer": str(params["optimizer"]),
            "label_smoothing": self._label_smoothing(params),
        }

    def build_module(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> torch.nn.Module:
        """Build the network of ``arch`` as a ``torch.nn.Module``.

        Parameters
        ----------
        arch : Architecture
            A decoded MLP architecture.
        n_features_in : int
            Number of input features.
        n_outputs : int
            Number of outputs (classes for a classifier, targets for a regressor).

        Returns
        -------
        torch.nn.Module
        """
        from sknas.spaces._mlp_module import MLPModule

        params = arch.params
        embedding, scale, k = self._blocks(params)
        return MLPModule(
            n_features_in=n_features_in,
            n_outputs=n_outputs,
            widths=self.layer_widths(arch),
            activation=str(params["activation"]),
            dropout=float(params["dropout"]),
            norm=str(params["norm"]),
            residual=bool(params["residual"]),
            embedding=embedding,
            embedding_scale=scale or 0.1,
            ensemble_size=k,
            input_clip=bool(params.get("input_clip", False)),
        )

    def latency_blocks(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> list[tuple[str, torch.nn.Module, tuple[int, ...]]]:
        """The embedding (if any), each hidden block and the head, with their input shapes.

        See :meth:`SearchSpace.latency_blocks`.

        Parameters
        ----------
        arch : Architecture
            A decoded MLP architecture.
        n_features_in : int
            Number of input features.
        n_outputs : int
            Number of outputs.

        Returns
        -------
        list of (str, torch.nn.Module, tuple of int)
        """
        from sknas.latency._blocks import traced_blocks

        module: Any = self.build_module(arch, n_features_in, n_outputs)
        blocks = [b for b in (module.embedding,) if b is not None]
        blocks += [*module.blocks, module.head]
        return traced_blocks(module, (int(n_features_in),), blocks)
