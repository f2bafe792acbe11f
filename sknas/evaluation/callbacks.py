"""skorch callbacks used while evaluating a candidate."""

from __future__ import annotations

import math
import time
from typing import Any

import optuna
from skorch.callbacks import Callback
from skorch.callbacks import EarlyStopping as _SkorchEarlyStopping

from sknas import _interrupts

__all__ = [
    "CandidateTimeout",
    "DivergenceGuard",
    "EarlyStopping",
    "StopTraining",
    "ParameterLimitExceeded",
    "TrainingDiverged",
    "TrialReporter",
    "check_parameter_count",
]


class TrainingDiverged(RuntimeError):
    """The training loss of a candidate became NaN or infinite."""


class StopTraining(Exception):
    """Raised by a callback to end a candidate's training normally.

    The nets of :mod:`sknas.evaluation._nets` end training on it the way
    skorch ends it on ``KeyboardInterrupt`` (callbacks' ``on_train_end`` still
    runs), while a ``KeyboardInterrupt`` (the user's Ctrl-C) goes up to the
    search, which stops.
    """


class EarlyStopping(_SkorchEarlyStopping):
    """skorch's ``EarlyStopping``, stopping with :class:`StopTraining`.

    skorch's callback raises ``KeyboardInterrupt`` when patience runs out;
    this one raises :class:`StopTraining` instead, so that a real Ctrl-C is
    never mistaken for early stopping. Parameters are skorch's.
    """

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:  # noqa: D102
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            if self.misses_ < self.patience or _interrupts.count():
                raise  # the user's Ctrl-C, not patience running out
            raise StopTraining(
                f"{self.monitor} has not improved in the last {self.patience} epochs"
            ) from None


class TrialReporter(Callback):
    """Report each epoch's validation score to an Optuna trial; prune bad curves.

    Parameters
    ----------
    trial : optuna.Trial
        The trial being evaluated.
    monitor : str, default="valid_score"
        History key reported as the intermediate value (step = epoch).
    """

    def __init__(self, trial: optuna.Trial, monitor: str = "valid_score") -> None:
        self.trial = trial
        self.monitor = monitor

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        if len(self.trial.study.directions) > 1:
            return  # Optuna has no intermediate values (nor pruning) in multi-objective studies
        epoch = len(net.history)
        self.trial.report(float(net.history[-1, self.monitor]), step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")


class DivergenceGuard(Callback):
    """Stop training with :class:`TrainingDiverged` when the loss is not finite."""

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        loss = net.history[-1, "train_loss"]
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"training loss became {loss} at epoch {len(net.history)}"
            )


class CandidateTimeout(Callback):
    """Stop training at the end of the epoch in which a deadline passes.

    Training ends with :class:`StopTraining`, as :class:`EarlyStopping` ends
    it, so the callbacks that run at the end of training still run (``EarlyStopping``
    with ``load_best=True`` restores the best epoch's weights) and the
    candidate is scored on its best epoch so far. The epoch at which the
    limit stopped training is marked ``candidate_timeout=True`` in the net's
    history.

    Parameters
    ----------
    deadline : float
        A ``time.perf_counter()`` value; the first epoch to end after it is the last.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        if time.perf_counter() >= self.deadline:
            net.history.record("candidate_timeout", True)
            raise StopTraining("candidate_timeout reached")


class ParameterLimitExceeded(ValueError):
    """A candidate has more trainable parameters than ``max_parameters`` allows.

    Parameters
    ----------
    n_parameters : int
        Trainable parameters of the candidate.
    max_parameters : int
        The limit.
    """

    def __init__(self, n_parameters: int, max_parameters: int) -> None:
        super().__init__(f"{n_parameters} parameters > max_parameters={max_parameters}")
        self.n_parameters = n_parameters
        self.max_parameters = max_parameters


def check_parameter_count(module: Any, max_parameters: int | None) -> int:
    """Count ``module``'s trainable parameters; raise when they exceed the limit.

    Parameters
    ----------
    module : torch.nn.Module
        A freshly built candidate.
    max_parameters : int or None
        The limit; None means no limit.

    Returns
    -------
    int
        The parameter count.

    Raises
    ------
    ParameterLimitExceeded
    """
    n_parameters = int(sum(p.numel() for p in module.parameters() if p.requires_grad))
    if max_parameters is not None and n_parameters > max_parameters:
        raise ParameterLimitExceeded(n_parameters, max_parameters)
    return n_parameters
