"""skorch callbacks used while evaluating a candidate."""

from __future__ import annotations

import math
from typing import Any

import optuna
from skorch.callbacks import Callback

__all__ = ["TrialReporter", "DivergenceGuard", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The training loss of a candidate became NaN or infinite."""


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
