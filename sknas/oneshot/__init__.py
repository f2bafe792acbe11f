"""One-shot (weight-sharing, differentiable) architecture search.

A search space opts in by building a supernet
(:meth:`sknas.spaces.SearchSpace.build_supernet`); a method is an edge mixer
(:mod:`sknas.oneshot.mixers`) plus a training rule
(:mod:`sknas.oneshot.strategies`). The estimators take these strategies by
name (``NASClassifier(strategy="gdas", search_space="nb201")``) or as objects
(``strategy=GDAS(epochs=20)``); see :func:`run_oneshot` for how the derived
architecture becomes a trial of the estimator's study.

Importing this package does not import torch.
"""

from __future__ import annotations

from typing import Any

from sknas.oneshot.base import OneShotResult, OneShotStrategy, SearchData
from sknas.oneshot.strategies import (
    DARTS,
    DARTSPT,
    ENAS,
    GDAS,
    ONESHOT_STRATEGIES,
    PCDARTS,
    RSWS,
    SDARTS,
    SNAS,
    DrNAS,
    FairDARTS,
    FBNet,
    ProxylessNAS,
    RobustDARTS,
)

__all__ = [
    "DARTS", "DARTSPT", "ENAS", "GDAS", "PCDARTS", "RSWS", "SDARTS", "SNAS", "DrNAS",
    "FairDARTS", "FBNet", "ProxylessNAS", "RobustDARTS", "ONESHOT_STRATEGIES",
    "OneShotResult", "OneShotStrategy", "SearchData", "is_oneshot", "make_oneshot",
]


def is_oneshot(strategy: Any) -> bool:
    """Whether ``strategy`` (a name or an object) is a one-shot strategy.

    Parameters
    ----------
    strategy : str or object

    Returns
    -------
    bool

    Examples
    --------
    >>> is_oneshot("gdas"), is_oneshot("tpe"), is_oneshot(GDAS(epochs=2))
    (True, False, True)
    """
    if isinstance(strategy, OneShotStrategy):
        return True
    return isinstance(strategy, str) and strategy in ONESHOT_STRATEGIES


def make_oneshot(strategy: str | OneShotStrategy) -> OneShotStrategy:
    """The strategy object of a name (with its defaults), or a copy of ``strategy``.

    Parameters
    ----------
    strategy : str or OneShotStrategy

    Returns
    -------
    OneShotStrategy
    """
    from sklearn.base import clone

    if isinstance(strategy, OneShotStrategy):
        return clone(strategy)
    if strategy not in ONESHOT_STRATEGIES:
        raise ValueError(
            f"Unknown one-shot strategy {strategy!r}; valid names are "
            f"{sorted(ONESHOT_STRATEGIES)}."
        )
    return ONESHOT_STRATEGIES[strategy]()
