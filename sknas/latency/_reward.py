"""MnasNet's latency-aware reward, for single-objective strategies."""

from __future__ import annotations

import math
import re

__all__ = ["MnasNetReward", "parse_reward"]

_PATTERN = re.compile(r"^mnasnet(_hard)?:([0-9.eE+-]+)$")


class MnasNetReward:
    """``score * (latency / target) ** w``: MnasNet's reward (Tan et al., CVPR 2019).

    Soft (default): ``w = -0.07`` on both sides of the target, so a network
    twice as slow as the target must be about 5 % more accurate to score the
    same. Hard: ``w = 0`` under the target and ``w = -1`` above it, which
    penalises every millisecond over the budget steeply.

    Parameters
    ----------
    target : float
        Target latency (ms).
    w : float, default=-0.07
        Exponent of the soft reward.
    hard : bool, default=False
        Use the hard-constraint exponents (0 under the target, -1 above).

    Examples
    --------
    >>> reward = MnasNetReward(5.0)
    >>> round(reward(0.9, 10.0), 4)
    0.8574
    >>> MnasNetReward(5.0, hard=True)(0.9, 4.0)
    0.9
    """

    def __init__(self, target: float, w: float = -0.07, *, hard: bool = False) -> None:
        if not (isinstance(target, (int, float)) and target > 0 and math.isfinite(target)):
            raise ValueError(f"The MnasNet target latency must be > 0 ms; got {target!r}.")
        self.target = float(target)
        self.w = float(w)
        self.hard = bool(hard)

    def __call__(self, score: float, latency: float) -> float:
        """The reward of a candidate with ``score`` and ``latency`` (ms)."""
        ratio = float(latency) / self.target
        w = (0.0 if ratio <= 1.0 else -1.0) if self.hard else self.w
        return float(score) * ratio**w

    def __repr__(self) -> str:
        return f"MnasNetReward(target={self.target}, w={self.w}, hard={self.hard})"


def parse_reward(name: str) -> MnasNetReward | None:
    """The reward named ``"mnasnet:T"`` (soft) or ``"mnasnet_hard:T"``, else None.

    Parameters
    ----------
    name : str
        An objective name.

    Returns
    -------
    MnasNetReward or None
    """
    match = _PATTERN.match(name) if isinstance(name, str) else None
    if match is None:
        return None
    try:
        target = float(match.group(2))
    except ValueError:
        return None
    return MnasNetReward(target, hard=match.group(1) is not None)
