"""A progress bar for ``verbose=1``: trials done and the best score so far."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from sknas.estimators._results import FINISHED_STATES

__all__ = ["ProgressBar"]


class ProgressBar:
    """Trial callback that drives a ``tqdm`` bar on standard error.

    The bar counts the finished trials of the whole study, so that the trials
    of worker processes (``n_jobs > 1``, ``sknas worker``) are counted too.

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
        self.sync(study, trial)

    def sync(self, study: optuna.Study, trial: FrozenTrial | None = None) -> None:
        """Show the study's finished trials and best value (and ``trial``'s state).

        Parameters
        ----------
        study : optuna.Study
            The (shared) study.
        trial : FrozenTrial, optional
            A trial this process just finished: a state other than COMPLETE is shown.
        """
        finished = len(study.get_trials(deepcopy=False, states=FINISHED_STATES))
        try:
            best = study.best_value
        except ValueError:
            best = None
        postfix = {"best": f"{best:.4f}" if best is not None else "-"}
        if trial is not None and trial.state != TrialState.COMPLETE:
            postfix["last"] = trial.state.name.lower()
        self.bar.n = finished
        self.bar.set_postfix(postfix, refresh=True)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()
