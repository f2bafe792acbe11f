"""Neural architecture search for regression."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from sknas.estimators.base import BaseNAS

__all__ = ["NASRegressor"]


class NASRegressor(RegressorMixin, BaseNAS):
    """Search a neural network for a regression task, then train it on all the data.

    Single and multi-output targets are supported; each target is standardised
    inside the network. The parameters are those of
    :class:`~sknas.NASClassifier`; ``scoring`` defaults to R², and the
    hold-out used to score candidates is a plain random split.

    Parameters
    ----------
    search_space : {"auto", "mlp", "nb201", "mobile"} or SearchSpace, default="auto"
        Which networks can be built.
    strategy : str, optuna.samplers.BaseSampler or OneShotStrategy, default="auto"
        The search strategy (one-shot strategies as in :class:`~sknas.NASClassifier`).
    n_trials : int, default=20
        Candidates to evaluate.
    timeout : float, optional
        Seconds for the whole ``fit``, search and refit: the search stops
        starting candidates (and stops the one in progress after its epoch)
        early enough to leave the refit the time its networks are estimated
        to take from the candidates' own training times (at most 40 % of
        ``timeout``), and the refit trains the networks it has time for, the
        best candidate always. See "Time budget" in ``docs/user_guide.md``.
    max_epochs : int, default=50
        Most training epochs per candidate.
    patience : int, default=10
        Epochs without improvement before a candidate stops.
    scoring : str or callable, optional
        A scikit-learn scorer; R² by default.
    validation_fraction : float, default=0.2
        Share of the data held out to score candidates when ``cv`` is None
        (or ``"auto"`` on data of 1,000 rows or more).
    cv : "auto", int, cross-validation generator or iterable, optional
        Score candidates by cross-validation instead of one hold-out.
        ``"auto"`` scores small data (fewer than 1,000 rows) by 5-fold
        cross-validation (stratified when every class has 5 rows) and holds
        out ``validation_fraction`` of larger data: a hold-out of a few dozen
        rows ranks candidates mostly by chance. None (default): the hold-out.
    refit : bool, callable or dict, default=True
        Refit the best (or the chosen) candidate on all the data; a dict of
        cost bounds picks a point on the Pareto front (see
        :class:`~sknas.NASClassifier`).
    ensemble_size : int, default=1
        Rounds of greedy ensemble selection with replacement over the
        candidates' held-out predictions (see :class:`~sknas.NASClassifier`);
        ``predict`` averages the refit members' outputs with their weights.
    refit_seeds : int, default=1
        Networks refit per selection of an ensemble member, each from its own
        seed, averaged (see :class:`~sknas.NASClassifier`).
    pruner : {"auto", "median", "hyperband", "asha"}, optuna.pruners.BasePruner or None, \
            default="auto"
        Stops candidates whose learning curves trail (PRUNED), budgets in
        epochs; the values are those of :class:`NASClassifier`'s ``pruner``
        (``"auto"``: Hyperband with ``strategy="bohb"``, else the median pruner).
    error_score : "raise" or float, default=nan
        Score recorded for a failed candidate; ``"raise"`` stops at the first failure.
    missing_values : {"error", "impute"}, default="error"
        Refuse missing values, or fill them (numeric: training mean;
        categorical: a category of their own).
    max_parameters : int, optional
        Candidates with more trainable parameters are not trained (PRUNED,
        with the reason in ``cv_results_["fail_reason"]``).
    candidate_timeout : float, optional
        Seconds of training per candidate; training stops at the end of the
        epoch in which they run out and the best epoch so far is scored.
    device : str or list of str, default="auto"
        Torch device, or a list of devices over which the ``n_jobs`` processes
        are spread (see :class:`~sknas.NASClassifier`).
    n_threads : "auto", int or None, default="auto"
        Torch threads while training and predicting; ``"auto"`` lets the
        search space decide.
    n_jobs : int or None, default=1
        Candidates evaluated at once: this process plus ``n_jobs - 1`` worker
        processes sharing the study (a temporary journal file when ``storage``
        is None). Negative values count from the number of cores (-1: one
        process per core); None means 1. Torch threads are divided among the
        processes.
    random_state : int, RandomState instance or None, default=None
        Seeds everything random in the search.
    verbose : int, default=0
        1 shows a progress bar.
    storage : str or optuna.storages.BaseStorage, optional
        Optuna storage to persist the study.
    study_name : str, optional
        Name of the study in ``storage``; an existing study is resumed when it was
        built for the same search (else ``ValueError``). Ignored, with a warning,
        without ``storage``.
    callbacks : list, optional
        Optuna trial callbacks ``callback(study, frozen_trial)`` and skorch
        callbacks for every candidate and the refit (see
        :class:`~sknas.NASClassifier`).
    objectives : sequence of str, default=("score",)
        What the search optimises (see :class:`~sknas.NASClassifier`).
    constraints : dict, optional
        Upper bounds of costs (see :class:`~sknas.NASClassifier`).
    latency_batch_size : int, default=1
        Inputs per timed forward pass when latency is measured.

    Attributes
    ----------
    best_estimator_ : skorch.NeuralNetRegressor
        The best network refit on all the data; it reads the output of
        ``preprocessor_.transform`` as float32 and returns targets in their
        own units (de-standardised in float64).
    best_params_, best_architecture_, best_score_, best_index_ :
        The chosen candidate (see :class:`~sknas.NASClassifier`).
    cv_results_ : dict of ndarray
        One row per finished trial.
    study_ : optuna.Study
        The study.
    arch_history_ : list of dict
        With a one-shot strategy: the supernet's record per epoch (as in
        :class:`~sknas.NASClassifier`).
    n_trials_, refit_time_, n_features_in_, feature_names_in_ :
        As in :class:`~sknas.NASClassifier`.
    ensemble_, ensemble_estimators_ :
        With more than one refit network (``ensemble_size > 1`` or
        ``refit_seeds > 1``), the ensemble and its refit networks (see
        :class:`~sknas.NASClassifier`).
    pareto_front_ : ndarray of int
        Rows of ``cv_results_`` of the non-dominated candidates (see
        :class:`~sknas.NASClassifier`).
    n_outputs_ : int
        Number of targets.
    preprocessor_ : sklearn.compose.ColumnTransformer
        How ``X`` becomes the network's input (see :class:`~sknas.NASClassifier`).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sknas import NASRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = NASRegressor(n_trials=2, max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _task = "regression"
    _REQUIRED_STATE = (*BaseNAS._REQUIRED_STATE, "_y_was_1d")

    def _default_scoring(self) -> str:
        return "r2"

    def _validate_targets(self, y: Any) -> tuple[np.ndarray, int]:
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"NASRegressor needs numeric targets, but y (dtype {y.dtype}) holds values "
                    f"that are not numbers ({exc}). For class labels use NASClassifier."
                ) from exc
        y = y.astype(np.float64)
        self._y_was_1d = y.ndim == 1
        # float64 all the way: the network standardises and de-standardises the
        # targets in float64, so values far from zero or of any scale keep their digits.
        y2 = y.reshape(len(y), -1)
        return y2, y2.shape[1]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets of the best network (or the weighted average of the ensemble's).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, in the format the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._network_output(X, "predict")
        return out.ravel() if self._y_was_1d else out

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
