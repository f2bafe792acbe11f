"""Multi-fidelity: the Optuna pruners that stop candidates early, by name.

A candidate's budget is counted in training epochs: the training evaluator
reports the validation score after every epoch (step 1 is the first epoch),
so a pruner compares learning curves epoch by epoch and stops the candidates
that trail.
"""

from __future__ import annotations

import copy
from typing import Any

import optuna

__all__ = ["PRUNER_NAMES", "REDUCTION_FACTOR", "make_pruner"]

#: Valid ``pruner`` strings of the estimators.
PRUNER_NAMES: frozenset[str] = frozenset({"auto", "median", "hyperband", "asha"})

#: Reduction factor (eta) of ``"hyperband"`` and ``"asha"``: a third of the candidates
#: that reach a rung go on to the next, whose budget is three times larger. With the
#: default ``max_epochs=50`` Hyperband runs floor(log3(50)) + 1 = 4 brackets, inside the
#: 4 to 6 that Optuna's documentation recommends.
REDUCTION_FACTOR = 3


def make_pruner(
    pruner: str | optuna.pruners.BasePruner | None,
    *,
    max_epochs: int,
    default: str = "median",
) -> optuna.pruners.BasePruner:
    """Build the pruner of a ``pruner`` setting; budgets are epochs.

    Parameters
    ----------
    pruner : {"auto", "median", "hyperband", "asha"}, optuna.pruners.BasePruner or None
        ``"median"``: :class:`optuna.pruners.MedianPruner` (after 5 finished
        candidates, a candidate whose score at an epoch is below the median of
        the others at that epoch stops; the first ``max_epochs // 5`` epochs
        are never pruned). ``"hyperband"``: :class:`optuna.pruners.HyperbandPruner`
        with ``min_resource=1``, ``max_resource=max_epochs`` and
        ``reduction_factor=REDUCTION_FACTOR``. ``"asha"``:
        :class:`optuna.pruners.SuccessiveHalvingPruner` (asynchronous
        successive halving) with ``min_resource=1`` and the same reduction
        factor. ``"auto"``: the pruner named by ``default``. None: no pruning
        (:class:`optuna.pruners.NopPruner`). A pruner instance is deep-copied,
        so the caller's object is never changed.
    max_epochs : int
        Most epochs of a candidate: the largest budget.
    default : str, default="median"
        The name ``"auto"`` stands for (a strategy may name one, e.g.
        ``"bohb"`` names ``"hyperband"``).

    Returns
    -------
    optuna.pruners.BasePruner

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> type(make_pruner("hyperband", max_epochs=50)).__name__
    'HyperbandPruner'
    >>> type(make_pruner(None, max_epochs=50)).__name__
    'NopPruner'
    """
    if pruner is None:
        return optuna.pruners.NopPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return copy.deepcopy(pruner)
    name = default if pruner == "auto" else pruner
    builders: dict[str, Any] = {
        "median": lambda: optuna.pruners.MedianPruner(
            n_startup_trials=5, n_warmup_steps=max(1, max_epochs // 5)
        ),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max(1, max_epochs), reduction_factor=REDUCTION_FACTOR
        ),
        "asha": lambda: optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=REDUCTION_FACTOR
        ),
    }
    if name not in builders:
        raise ValueError(
            f"Unknown pruner {pruner!r}; valid values are {sorted(PRUNER_NAMES)}, None or an "
            "optuna.pruners.BasePruner instance."
        )
    return builders[name]()
