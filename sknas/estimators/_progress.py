"""A progress bar for ``verbose=1``: trials done and the best score so far."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["ProgressBar"]


class ProgressBar:
    """Trial callback that drives a ``tqdm`` bar on standard error.

    Parameters
    ----------
    total : int
        Trials the search will have when done.
    initial : int
        Trials already finished (a resumed search).
    """

    def __init__(self, total: int, initial: int = 0) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, desc="sknas", unit="trial")

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.bar.update(1)
        try:
            best = study.best_value
        except ValueError:
            best = None
        postfix = {"best": f"{best:.4f}" if best is not None else "-"}
        if trial.state != TrialState.COMPLETE:
            postfix["last"] = trial.state.name.lower()
        self.bar.set_postfix(postfix, refresh=True)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()
