"""The ``callbacks`` parameter: Optuna trial callbacks and skorch callbacks, told apart.

A ``skorch.callbacks.Callback`` instance goes into every candidate's net (a
fresh deep copy each time, see :class:`sknas.evaluation.TrainingEvaluator`)
and into the refit's; any other callable is an Optuna trial callback,
``callback(study, frozen_trial)``, called by the search loop after every
trial of this process. Optuna callbacks need ``n_jobs=1``: with worker
processes most trials end elsewhere, where the callback's state (a file, a
counter, ``study.stop()``) would not reach.
"""

from __future__ import annotations

from typing import Any

__all__ = ["split_callbacks", "check_trial_callbacks_allowed"]


def split_callbacks(callbacks: list | None) -> tuple[list[Any], list[Any]]:
    """Split ``callbacks`` into Optuna trial callbacks and skorch callbacks.

    Parameters
    ----------
    callbacks : list or None
        The estimator's ``callbacks`` parameter.

    Returns
    -------
    trial_callbacks : list of callable
        Called as ``callback(study, frozen_trial)`` after each trial.
    net_callbacks : list of skorch.callbacks.Callback
        Added to every candidate's net and to the refit.

    Raises
    ------
    TypeError
        For an item that is neither a skorch callback nor a callable.
    """
    if not callbacks:
        return [], []
    from skorch.callbacks import Callback
    from skorch.callbacks import EarlyStopping as SkorchEarlyStopping

    trial_callbacks, net_callbacks = [], []
    for index, callback in enumerate(callbacks):
        if isinstance(callback, type) and issubclass(callback, Callback):
            raise TypeError(
                f"callbacks[{index}] is the class {callback.__name__}; pass an instance, "
                f"e.g. {callback.__name__}()."
            )
        if isinstance(callback, SkorchEarlyStopping):
            raise TypeError(
                f"callbacks[{index}] is skorch's EarlyStopping, which ends training by raising "
                "KeyboardInterrupt, as a Ctrl-C would (sknas would stop the whole search). "
                "Every candidate already stops early: set the estimator's patience instead."
            )
        if isinstance(callback, Callback):
            net_callbacks.append(callback)
        elif callable(callback):
            trial_callbacks.append(callback)
        else:
            raise TypeError(
                f"callbacks[{index}]={callback!r} is neither a skorch.callbacks.Callback "
                "instance (run in every candidate's training) nor a callable "
                "callback(study, frozen_trial) (run by Optuna after every trial)."
            )
    return trial_callbacks, net_callbacks


def check_trial_callbacks_allowed(trial_callbacks: list[Any], n_jobs: int) -> None:
    """Refuse Optuna trial callbacks when worker processes share the search.

    Parameters
    ----------
    trial_callbacks : list
        The Optuna callbacks of ``callbacks``.
    n_jobs : int
        The resolved number of processes.

    Raises
    ------
    ValueError
    """
    if trial_callbacks and n_jobs > 1:
        names = ", ".join(getattr(c, "__name__", type(c).__name__) for c in trial_callbacks)
        raise ValueError(
            f"callbacks holds Optuna trial callbacks ({names}), which run in the search loop "
            f"of one process, but n_jobs={n_jobs} evaluates most trials in worker processes "
            "that would not call them. Use n_jobs=1 with trial callbacks; skorch callbacks "
            "(skorch.callbacks.Callback instances) work with any n_jobs."
        )
