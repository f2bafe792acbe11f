"""The mobile search space of hardware-aware NAS: stages of MBConv blocks.

MnasNet, FBNet, ProxylessNAS and MobileNetV3 all search stages of inverted
residual (MBConv) blocks whose kernel size, expansion ratio,
squeeze-and-excitation, activation and depth are chosen per stage or per
block. :class:`MobileSpace` is that space, sized for small images by
default, and :meth:`MobileSpace.network` builds the known networks from the
same blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from optuna.distributions import BaseDistribution, CategoricalDistribution

from sknas.spaces._images import resolve_image_shape
from sknas.spaces._mobile_nets import (
    ACTIVATIONS,
    KNOWN_NETWORKS,
    BlockSpec,
    NetworkSpec,
    expanded_channels,
    known_network,
    make_divisible,
)
from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from sknas.spaces._mobile_module import MobileNetwork

__all__ = ["MobileSpace", "DEFAULT_CHANNELS"]

#: Output channels offered to each stage by default (four stages, for small images).
DEFAULT_CHANNELS: tuple[tuple[int, ...], ...] = (
    (16, 24), (24, 32, 40), (40, 64, 80), (80, 96, 112),
)
# MobileNetV2's stage widths and depths: the first candidate of a search follows them.
_V2_CHANNELS = (16, 24, 32, 64, 96, 160, 320)
_V2_DEPTHS = (1, 2, 3, 4, 3, 3, 1)
_CHOICES = ("kernel", "expand", "se", "act")


class MobileSpace(SearchSpace):
    """Stages of MBConv blocks, as searched by MnasNet, FBNet, ProxylessNAS and MobileNetV3.

    A network is a 3x3 stem convolution, ``len(channels)`` stages of MBConv
    (inverted residual) blocks and a head (1x1 convolution, global pooling,
    dropout, linear classifier). Every stage but the first starts with a
    stride-2 block in the 224x224 layout; for smaller images the earliest
    reductions are dropped so the feature map stays at least 4 pixels wide
    (digits, 8x8, are reduced once; MNIST, 28x28, twice).

    Parameters (flat, from :meth:`distributions`), with ``S`` a stage and
    ``B`` a block slot of it:

    - ``width_mult``: width multiplier of all channels;
    - ``stageS_channels``: output channels of stage ``S``, from ``channels[S]``;
    - ``stageS_blocks`` (``depth="blocks"``, MnasNet): blocks in the stage,
      1 to ``max_blocks``; or ``stageS_blockB_skip`` for ``B >= 1``
      (``depth="skip"``, FBNet and ProxylessNAS): the block is left out;
    - ``kernel`` (depthwise kernel size), ``expand`` (expansion ratio),
      ``se`` (squeeze-and-excitation) and ``act`` (``relu`` or ``hswish``),
      once per stage as ``stageS_kernel`` (``granularity="stage"``,
      MnasNet's factorised hierarchical space) or once per block as
      ``stageS_blockB_kernel`` (``granularity="block"``).

    Choices of blocks left out do not change the network: the canonical key
    lists only the blocks present, so such duplicates compare equal.

    Parameters
    ----------
    image_shape : tuple of int, optional
        ``(channels, height, width)`` of the images, which arrive flattened;
        None infers ``(3, s, s)`` or ``(1, s, s)`` from the number of features.
        Estimators set it from 4-D input.
    granularity : {"stage", "block"}, default="stage"
        Whether kernel, expansion, SE and activation are chosen per stage or per block.
    depth : {"blocks", "skip"}, default="blocks"
        How depth is chosen: a block count per stage, or a skip choice per
        block (the first block of a stage is never skipped).
    channels : sequence of sequences of int, optional
        Output channel choices of each stage; None is :data:`DEFAULT_CHANNELS`.
    max_blocks : int, default=3
        Blocks per stage at most.
    kernel_sizes : sequence of int, default=(3, 5, 7)
        Depthwise kernel sizes (odd).
    expansions : sequence of float, default=(1, 3, 6)
        Expansion ratios.
    se : sequence of bool, default=(False, True)
        Squeeze-and-excitation choices.
    activations : sequence of str, default=("relu", "hswish")
        Activations (``relu``, ``relu6``, ``hswish``).
    width_multipliers : sequence of float, default=(0.5, 0.75, 1.0)
        Width multipliers.
    stem_channels : int, default=16
        Channels of the stem (scaled by the width multiplier).
    head_channels : int, default=256
        Channels of the head's 1x1 convolution.
    dropout : float, default=0.2
        Dropout before the classifier.
    bn_momentum : float, default=0.3
        Momentum of the batch norms' running statistics, which the network
        uses for predictions. Higher than PyTorch's 0.1 because small data
        sets train for few steps: on digits (9 steps an epoch), a network of
        this space with SE and h-swish scored 0.969 test accuracy after two
        epochs with 0.3 and 0.102 (chance) with 0.1, whose running statistics
        still lagged the trained weights; both reached 0.99 after six epochs.

    Examples
    --------
    >>> import numpy as np
    >>> space = MobileSpace()
    >>> arch = space.sample(np.random.default_rng(0))
    >>> space.decode(space.to_params(arch)) == arch
    True
    >>> net = MobileSpace(image_shape=(3, 224, 224)).network("mobilenet_v2")
    >>> net.key()
    'mobilenet_v2@1'
    """

    name = "mobile"
    #: Depthwise convolutions on small feature maps train fastest on one thread
    #: (more cost more in synchronisation than they save); for large images pass
    #: the estimator's ``n_threads``.
    preferred_threads = 1

    def __init__(
        self,
        image_shape: tuple[int, int, int] | None = None,
        granularity: str = "stage",
        depth: str = "blocks",
        channels: Sequence[Sequence[int]] | None = None,
        max_blocks: int = 3,
        kernel_sizes: Sequence[int] = (3, 5, 7),
        expansions: Sequence[float] = (1, 3, 6),
        se: Sequence[bool] = (False, True),
        activations: Sequence[str] = ("relu", "hswish"),
        width_multipliers: Sequence[float] = (0.5, 0.75, 1.0),
        stem_channels: int = 16,
        head_channels: int = 256,
        dropout: float = 0.2,
        bn_momentum: float = 0.3,
    ) -> None:
        self.image_shape = image_shape
        self.granularity = granularity
        self.depth = depth
        self.channels = channels
        self.max_blocks = max_blocks
        self.kernel_sizes = kernel_sizes
        self.expansions = expansions
        self.se = se
        self.activations = activations
        self.width_multipliers = width_multipliers
        self.stem_channels = stem_channels
        self.head_channels = head_channels
        self.dropout = dropout
        self.bn_momentum = bn_momentum

    # -- configuration ---------------------------------------------------------------
    def _stage_channels(self) -> tuple[tuple[int, ...], ...]:
        channels = DEFAULT_CHANNELS if self.channels is None else self.channels
        stages = tuple(tuple(int(c) for c in stage) for stage in channels)
        if not stages or any(not s or min(s) < 1 for s in stages):
            raise ValueError(
                "MobileSpace: channels must be a non-empty sequence of non-empty sequences "
                f"of positive ints (one per stage), got {self.channels!r}."
            )
        return stages

    def _check(self) -> None:
        def choices(name: str, values: Any, valid: Any) -> None:
            if isinstance(values, (str, bytes)) or not list(values) or not all(
                valid(v) for v in values
            ):
                raise ValueError(f"MobileSpace: {name}={values!r} is not a valid list of choices.")

        if self.granularity not in ("stage", "block"):
            raise ValueError(
                f"MobileSpace: granularity must be 'stage' or 'block', got {self.granularity!r}."
            )
        if self.depth not in ("blocks", "skip"):
            raise ValueError(f"MobileSpace: depth must be 'blocks' or 'skip', got {self.depth!r}.")
        if isinstance(self.max_blocks, bool) or not isinstance(self.max_blocks, int) or (
            self.max_blocks < 1
        ):
            raise ValueError(
                f"MobileSpace: max_blocks must be an int >= 1, got {self.max_blocks!r}."
            )
        choices("kernel_sizes", self.kernel_sizes, lambda k: int(k) == k and k >= 1 and k % 2)
        choices("expansions", self.expansions, lambda e: float(e) >= 1)
        choices("se", self.se, lambda v: isinstance(v, bool))
        choices("activations", self.activations, lambda a: a in ACTIVATIONS)
        choices("width_multipliers", self.width_multipliers, lambda w: float(w) > 0)
        self._stage_channels()

    # -- structure -------------------------------------------------------------------
    def _slots(self, stage: int) -> list[str]:
        """Prefixes of the per-block parameters of ``stage``."""
        return [f"stage{stage}_block{b}_" for b in range(self.max_blocks)]

    def distributions(self) -> dict[str, BaseDistribution]:
        """Width, then per stage: channels, depth and the block choices (see the class doc).

        Returns
        -------
        dict of str to optuna.distributions.CategoricalDistribution
        """
        self._check()
        values: dict[str, list[Any]] = {
            "kernel": [int(k) for k in self.kernel_sizes],
            "expand": [_number(e) for e in self.expansions],
            "se": [bool(v) for v in self.se],
            "act": [str(a) for a in self.activations],
        }
        dists: dict[str, BaseDistribution] = {
            "width_mult": CategoricalDistribution([_number(w) for w in self.width_multipliers])
        }
        for s, options in enumerate(self._stage_channels()):
            dists[f"stage{s}_channels"] = CategoricalDistribution(list(options))
            slots = self._slots(s)
            if self.depth == "blocks":
                dists[f"stage{s}_blocks"] = CategoricalDistribution(
                    list(range(1, self.max_blocks + 1))
                )
            else:
                for prefix in slots[1:]:
                    dists[prefix + "skip"] = CategoricalDistribution([False, True])
            prefixes = [f"stage{s}_"] if self.granularity == "stage" else slots
            for prefix in prefixes:
                for choice in _CHOICES:
                    dists[prefix + choice] = CategoricalDistribution(values[choice])
        return dists

    def decode(self, params: Mapping[str, Any]) -> Architecture:
        """Build the :class:`Architecture` of a full parameter dict.

        Parameters
        ----------
        params : mapping
            A value for every parameter of :meth:`distributions`, or
            ``{"network": name, "width_mult": w}`` for a known network.

        Returns
        -------
        Architecture
            Its canonical key lists the width and the blocks present.
        """
        if "network" in params:
            return self.network(str(params["network"]), params.get("width_mult", 1.0))
        dists = self.distributions()
        for name, dist in dists.items():
            if name not in params:
                raise ValueError(f"MobileSpace: parameter {name!r} is missing.")
            if params[name] not in dist.choices:  # type: ignore[attr-defined]
                raise ValueError(
                    f"MobileSpace: parameter {name!r}={params[name]!r} is not one of "
                    f"{list(dist.choices)}."  # type: ignore[attr-defined]
                )
        clean = {name: params[name] for name in dists}
        stages = self._stages(clean)
        width = clean["width_mult"]
        parts = [f"w{width:g}"] + [
            f"{c}:" + ",".join(_block_key(choice) for choice in blocks) for c, blocks in stages
        ]
        return Architecture.from_params(
            self.name, clean, canonical="|".join(parts), description=" ".join(parts)
        )

    def _stages(self, params: Mapping[str, Any]) -> list[tuple[int, list[dict[str, Any]]]]:
        """``(channels, [choices of each block present])`` of every stage."""
        result = []
        for s in range(len(self._stage_channels())):
            slots = self._slots(s)
            if self.depth == "blocks":
                present = slots[: int(params[f"stage{s}_blocks"])]
            else:
                present = [slots[0]] + [p for p in slots[1:] if not params[p + "skip"]]
            source = [f"stage{s}_"] * len(present) if self.granularity == "stage" else present
            blocks = [{c: params[prefix + c] for c in _CHOICES} for prefix in source]
            result.append((int(params[f"stage{s}_channels"]), blocks))
        return result

    def network(self, name: str, width_mult: float = 1.0) -> Architecture:
        """The architecture of a known network, built from this space's blocks.

        ``"mobilenet_v2"``, ``"mnasnet_1_0"`` (MnasNet-B1, without SE),
        ``"mobilenet_v3_small"`` and ``"mobilenet_v3_large"``, laid out as in
        their reference implementations (at ``image_shape=(3, 224, 224)`` and
        1000 classes they have the reference parameter counts); on smaller
        images their early reductions are dropped as for every network of the
        space. Their choices need not lie in :meth:`distributions`: they are
        networks to compare with, not candidates of a search.

        Parameters
        ----------
        name : str
            One of the names above.
        width_mult : float, default=1.0
            Width multiplier of the channels.

        Returns
        -------
        Architecture
            With parameters ``{"network": name, "width_mult": width_mult}``.
        """
        if name not in KNOWN_NETWORKS:
            raise ValueError(
                f"MobileSpace: unknown network {name!r}; known: {sorted(KNOWN_NETWORKS)}."
            )
        if isinstance(width_mult, bool) or not float(width_mult) > 0:
            raise ValueError(f"MobileSpace: width_mult must be > 0, got {width_mult!r}.")
        width = _number(width_mult)
        return Architecture.from_params(
            self.name,
            {"network": name, "width_mult": width},
            canonical=f"{name}@{width:g}",
            description=f"{name} (width {width:g})",
        )

    def initial_params(self) -> list[dict[str, Any]]:
        """MobileNetV2 on this space's stages, to try first.

        Each stage takes MobileNetV2's choices (kernel 3, expansion 6 but 1 in
        the first stage, no SE, ReLU, its depth and its channels), each
        replaced by the nearest choice the space offers; the network's
        reductions follow the data's resolution like every candidate's.

        Returns
        -------
        list of dict
            One parameter dict.
        """
        dists = self.distributions()
        preferred = {"kernel": 3, "se": False}
        params: dict[str, Any] = {"width_mult": _nearest(dists["width_mult"], 1.0)}
        for s in range(len(self._stage_channels())):
            v2 = min(s, len(_V2_CHANNELS) - 1)
            depth = min(max(_V2_DEPTHS[v2], 1), self.max_blocks)
            params[f"stage{s}_channels"] = _nearest(dists[f"stage{s}_channels"], _V2_CHANNELS[v2])
            if self.depth == "blocks":
                params[f"stage{s}_blocks"] = depth
            for b, prefix in enumerate(self._slots(s)):
                if self.depth == "skip" and b > 0:
                    params[prefix + "skip"] = b >= depth
            prefixes = [f"stage{s}_"] if self.granularity == "stage" else self._slots(s)
            for prefix in prefixes:
                wanted = {**preferred, "expand": 1 if s == 0 else 6}
                for choice in ("kernel", "expand", "se"):
                    params[prefix + choice] = _nearest(dists[prefix + choice], wanted[choice])
                acts = list(dists[prefix + "act"].choices)  # type: ignore[attr-defined]
                params[prefix + "act"] = next((a for a in ("relu6", "relu") if a in acts), acts[0])
        return [params]

    # -- network ---------------------------------------------------------------------
    def spec(self, arch: Architecture) -> NetworkSpec:
        """The resolved :class:`~sknas.spaces._mobile_nets.NetworkSpec` of ``arch``.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space (searched or known).

        Returns
        -------
        NetworkSpec
        """
        params = arch.params
        width = float(params["width_mult"])
        if "network" in params:
            return known_network(str(params["network"]), width)
        stem = make_divisible(self.stem_channels * width)
        blocks: list[BlockSpec] = []
        c_in = stem
        for s, (channels, choices) in enumerate(self._stages(params)):
            c_out = make_divisible(channels * width)
            for b, choice in enumerate(choices):
                blocks.append(BlockSpec(
                    c_out, int(choice["kernel"]), expanded_channels(c_in, choice["expand"]),
                    bool(choice["se"]), str(choice["act"]), 2 if (s > 0 and b == 0) else 1,
                ))
                c_in = c_out
        return NetworkSpec(stem, blocks[0].act, tuple(blocks), int(self.head_channels),
                           blocks[-1].act, dropout=float(self.dropout))

    def build_module(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> torch.nn.Module:
        """Build the network of ``arch``: stem, MBConv blocks, head.

        The module takes a flat batch ``(n, n_features_in)`` and reshapes it
        to the image shape.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        n_features_in : int
            Number of features of a flattened image.
        n_outputs : int
            Number of outputs (classes).

        Returns
        -------
        torch.nn.Module
        """
        return self._network(arch, n_features_in, n_outputs)

    def _network(self, arch: Architecture, n_features_in: int, n_outputs: int) -> MobileNetwork:
        from sknas.spaces._mobile_module import MobileNetwork

        shape = resolve_image_shape(self.image_shape, int(n_features_in), "MobileSpace")
        if not 0.0 < float(self.bn_momentum) <= 1.0:
            raise ValueError(
                f"MobileSpace: bn_momentum must be in (0, 1], got {self.bn_momentum!r}."
            )
        return MobileNetwork(self.spec(arch), shape, int(n_outputs), float(self.bn_momentum))

    def supernet_params(self) -> dict[str, Any]:
        """The parameters the supernet fixes, at the first candidate's values.

        Channel choices change tensor shapes, so one-shot search fixes
        ``width_mult``, every ``stageS_channels`` and every activation
        (``stageS_act`` or ``stageS_blockB_act``: stem and head follow the
        blocks' activation) at :meth:`initial_params` (MobileNetV2's layout,
        nearest choices). To search another width or activation in one shot,
        offer a single choice (e.g. ``channels=((24,), (40,), (80,), (112,))``,
        ``activations=("hswish",)``).

        Returns
        -------
        dict
        """
        first = self.initial_params()[0]
        return {name: value for name, value in first.items()
                if name == "width_mult" or name.endswith(("_channels", "_act"))}

    def build_supernet(self, n_features_in: int, n_outputs: int, mixer: Any) -> torch.nn.Module:
        """The weight-sharing supernet of this space (ProxylessNAS, FBNet, other one-shot methods).

        Stem and head as in :meth:`build_module`, channels and activations
        fixed (:meth:`supernet_params`); every block slot holds an MBConv per
        joint choice of kernel, expansion and squeeze-and-excitation, mixed by
        ``mixer`` per stage or per block (``granularity``), and depth is mixed
        as ``depth`` chooses it (the stage's output after 1, 2, ... blocks, or a
        block against the identity). Latency-aware methods read a lookup table
        of the candidates' measured latencies. See
        :class:`sknas.spaces._mobile_supernet.MobileSupernet`.

        Parameters
        ----------
        n_features_in : int
            Number of features of a flattened image.
        n_outputs : int
            Number of classes.
        mixer : sknas.oneshot.mixers.EdgeMixer
            How each slot combines its candidates.

        Returns
        -------
        sknas.spaces._mobile_supernet.MobileSupernet
        """
        from sknas.oneshot.mixers import make_mixer
        from sknas.spaces._mobile_supernet import MobileSupernet

        self._check()
        shape = resolve_image_shape(self.image_shape, int(n_features_in), "MobileSpace")
        return MobileSupernet(self, shape, int(n_outputs), make_mixer(mixer))

    def latency_blocks(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> list[tuple[str, torch.nn.Module, tuple[int, ...]]]:
        """The network's parts for a latency lookup table (FBNet): stem, blocks, head.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        n_features_in, n_outputs : int
            As in :meth:`build_module`.

        Returns
        -------
        list of (str, torch.nn.Module, tuple of int)
            A key naming the part's operation and channels, the part, and its
            input shape ``(C, H, W)`` without the batch dimension; the
            latencies of the parts add up to the network's (its flat input's
            reshape aside).
        """
        import torch

        net = self._network(arch, n_features_in, n_outputs)
        parts = net.parts()
        shapes: list[tuple[int, ...]] = []
        handles = [
            part.register_forward_pre_hook(
                lambda _, args: shapes.append(tuple(int(v) for v in args[0].shape[1:]))
            )
            for part in parts
        ]
        try:
            with torch.no_grad():
                net.eval()(torch.zeros(1, int(n_features_in)))
        finally:
            for handle in handles:
                handle.remove()
        return [(_part_key(part), part, shape) for part, shape in zip(parts, shapes)]


def _number(value: Any) -> int | float:
    """``value`` as an int when it is whole (so ``1.0`` and ``1`` are one choice), else a float."""
    number = float(value)
    return int(number) if number.is_integer() else number


def _nearest(dist: BaseDistribution, wanted: Any) -> Any:
    options = list(dist.choices)  # type: ignore[attr-defined]
    if wanted in options:
        return wanted
    return min(options, key=lambda v: abs(float(v) - float(wanted)))


def _block_key(choice: Mapping[str, Any]) -> str:
    key = f"k{int(choice['kernel'])}e{float(choice['expand']):g}"
    return key + ("se" if choice["se"] else "") + ("" if choice["act"] == "relu" else
                                                  f"-{choice['act']}")


def _part_key(part: torch.nn.Module) -> str:
    return " ".join(repr(part).split())
