"""Neural architecture search for classification."""

from __future__ import annotations

from numbers import Number
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from sknas.estimators.base import BaseNAS
from sknas.utils._columns import missing_mask

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from sknas.spaces.base import SearchSpace

__all__ = ["NASClassifier"]


class NASClassifier(ClassifierMixin, BaseNAS):
    """Search a neural network for a classification task, then train it on all the data.

    ``fit`` runs ``n_trials`` trials of an Optuna study: each proposes an
    architecture (with its training choices) from ``search_space``, trains it
    with skorch for at most ``max_epochs`` epochs with early stopping, and
    scores it on held-out data (one stratified hold-out of
    ``validation_fraction`` by default, or the folds of ``cv``). The best
    architecture is refit on all the data and used by ``predict``.

    Parameters
    ----------
    search_space : {"auto", "mlp", "nb201", "mobile"} or SearchSpace, default="auto"
        Which networks can be built. ``"auto"`` is an :class:`~sknas.spaces.MLPSpace`.
    strategy : str, optuna.samplers.BaseSampler or OneShotStrategy, default="auto"
        The search strategy: a name in ``sknas.samplers.STRATEGIES`` (such as
        ``"random"``, ``"tpe"`` or ``"bohb"``, TPE with Hyperband pruning) or any
        Optuna sampler (copied before use); or a one-shot strategy, by name in
        ``sknas.oneshot.ONESHOT_STRATEGIES`` (``"darts"``, ``"gdas"``, ...) or
        as an object (``sknas.oneshot.GDAS(epochs=20)``), which trains a
        supernet, derives its architecture and retrains it from scratch as a
        trial (spaces with a supernet only: ``"nb201"``, ``"darts"`` and
        ``"mobile"``). ``"auto"`` is the space's default strategy, and ``"hvi"``
        with several ``objectives``.
    n_trials : int, default=20
        Candidates to evaluate (in total, for a resumed study).
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
        Epochs without a better validation score before a candidate stops.
    scoring : str or callable, optional
        A scikit-learn scorer (greater is better); accuracy by default.
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
        Refit the best candidate on all the data (with several objectives or
        constraints: the best score on the Pareto front). A callable receives
        ``cv_results_`` and returns the index of the candidate to refit; a
        dict of cost bounds (``{"latency": 5.0}``) picks the best score among
        the front's candidates that meet them.
    ensemble_size : int, default=1
        Rounds of greedy ensemble selection with replacement (Caruana et al.,
        2004) over the completed candidates' held-out predictions, optimising
        ``scoring``: starting from the refit candidate, the candidate whose
        addition scores best is added ``ensemble_size - 1`` times (repeats
        allowed). The chosen networks are refit on all the data and
        ``predict_proba`` averages their probabilities with the selection
        weights. 1 keeps the single best network; ``refit=False`` builds no
        ensemble. See ``docs/ensembles.md``.
    refit_seeds : int, default=1
        Networks refit per selection of an ensemble member, each from its own
        seed; their predictions are averaged (seed averaging). A member chosen
        ``k`` times by ensemble selection is refit ``k * refit_seeds`` times,
        so ``ensemble_size * refit_seeds`` networks are trained after the
        search. With ``ensemble_size=1``, ``refit_seeds > 1`` averages several
        networks of the best architecture.
    pruner : {"auto", "median", "hyperband", "asha"}, optuna.pruners.BasePruner or None, \
            default="auto"
        Stops candidates whose learning curves trail (they end PRUNED); budgets
        are epochs, as every epoch's validation score is reported to the trial.
        ``"median"``: Optuna's ``MedianPruner``; ``"hyperband"``:
        ``HyperbandPruner(min_resource=1, max_resource=max_epochs,
        reduction_factor=3)``; ``"asha"``: ``SuccessiveHalvingPruner(min_resource=1,
        reduction_factor=3)``; None: no pruning; a pruner instance is copied.
        ``"auto"`` is ``"hyperband"`` with ``strategy="bohb"`` and ``"median"``
        otherwise; an explicit value always wins. See ``docs/strategies/bohb.md``.
    error_score : "raise" or float, default=nan
        Score recorded for a candidate that fails (raises, runs out of memory,
        or its loss becomes NaN/infinite); ``"raise"`` stops the search at the
        first failure. Either way the reason is kept in ``cv_results_["fail_reason"]``.
    missing_values : {"error", "impute"}, default="error"
        ``"error"`` refuses missing values (NaN, None) with a ``ValueError``
        naming the column; ``"impute"`` fills a numeric column with its training
        mean and gives a categorical column's missing values a category of
        their own, in ``fit`` and in ``predict``. Infinite values are always refused.
    max_parameters : int, optional
        Most trainable parameters a candidate may have. Larger candidates are
        not trained: they are recorded as PRUNED with the reason
        ``"N parameters > max_parameters=M"``.
    candidate_timeout : float, optional
        Seconds of training per candidate (all folds together). Training stops
        at the end of the epoch in which the limit passes, and the candidate is
        scored on its best epoch so far (its trial gets the user attribute
        ``candidate_timed_out=True``). The refit of the best candidate is not limited.
    device : str or list of str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available. A list of devices
        (``["cuda:0", "cuda:1"]``) spreads the ``n_jobs`` processes over them
        round-robin: this process (and the refit) uses the first, worker
        ``k`` the ``k % len(device)``-th. Every device is checked before
        training. See "Several GPUs" in ``docs/user_guide.md``.
    n_threads : "auto", int or None, default="auto"
        Torch threads used while training and predicting (torch's setting is
        restored afterwards). ``"auto"`` lets the search space decide (one
        thread for MLPs, whose small layers gain nothing from more); None
        keeps torch's own setting.
    n_jobs : int or None, default=1
        Candidates evaluated at once: this process plus ``n_jobs - 1`` worker
        processes sharing the study (a temporary journal file when ``storage``
        is None). Negative values count from the number of cores (-1: one
        process per core); None means 1. Torch threads are divided among the
        processes.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampler, the validation split and every candidate's training.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar with the best score so far; 2 also
        keeps Optuna's log line for every trial.
    storage : str or optuna.storages.BaseStorage, optional
        Optuna storage (e.g. ``"sqlite:///search.db"``) to persist the study.
    study_name : str, optional
        Name of the study in ``storage``; an existing study is resumed when it was
        built for the same search (else ``ValueError``). Ignored, with a warning,
        without ``storage``.
    callbacks : list, optional
        Called during the search. Each item is either an Optuna trial callback,
        a callable ``callback(study, frozen_trial)`` called after every trial
        (it may call ``study.stop()``), or a ``skorch.callbacks.Callback``
        instance, deep-copied into every candidate's net and into the refit's.
        Optuna callbacks need ``n_jobs=1``; skorch callbacks travel to the
        ``n_jobs`` workers (they must pickle) but make the search unshareable
        with ``sknas worker``. See "Callbacks" in ``docs/user_guide.md``.
    objectives : sequence of str, default=("score",)
        What the search optimises: ``"score"`` first, then any of
        ``"params"``, ``"flops"`` (counted by torch) and ``"latency"`` (ms of a
        forward pass on the search's device, median of 30 timed runs after 5
        warm-up runs on one thread, cached per architecture). Several make a
        multi-objective study (no pruning); see ``docs/multi_objective.md``.
        A single ``"mnasnet:T"`` (``"mnasnet_hard:T"``) searches MnasNet's
        reward ``score * (latency / T) ** w`` with any strategy
        (:class:`sknas.latency.MnasNetReward`; ``mean_test_score`` holds it).
    constraints : dict, optional
        Upper bounds of costs, e.g. ``{"latency": 5.0, "params": 1e5}``,
        passed to Optuna's ``constraints_func`` by the strategies that support
        it (``"tpe"``, ``"bohb"``, ``"motpe"``, ``"nsga2"``, ``"nsga3"``); with
        the others they only filter ``pareto_front_`` and the refit.
    latency_batch_size : int, default=1
        Inputs per timed forward pass when latency is measured.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` (scikit-learn's
        semantics): a dict maps a label to its weight (1 for labels left
        out); ``"balanced"`` weights each class by
        ``n_samples / (n_classes * its (weighted) count)``. The weights reach
        the training losses, the validation scores, the ensemble's selection
        and the refit.

    Attributes
    ----------
    best_estimator_ : skorch.NeuralNetClassifier
        The best network refit on all the data. It reads the output of
        ``preprocessor_.transform`` as float32 and predicts class indices into
        ``classes_``.
    best_params_ : dict
        Parameters of the best trial.
    best_architecture_ : Architecture
        The best architecture; ``str()`` gives a readable summary.
    best_score_ : float
        Its validation score.
    best_index_ : int
        Its row in ``cv_results_``.
    cv_results_ : dict of ndarray
        One row per finished trial, readable by ``pandas.DataFrame``.
    study_ : optuna.Study
        The study, for Optuna's visualisation and analysis tools.
    arch_history_ : list of dict
        With a one-shot strategy only: one record per supernet epoch, with
        the mixer's ``weights`` per edge and choice, ``train_loss``,
        ``valid_loss``, ``temperature`` and method-specific entries.
    search_space_ : SearchSpace
        The search space used.
    n_trials_ : int
        Finished trials in the study.
    refit_time_ : float
        Seconds spent refitting the best network (and the ensemble's members).
    ensemble_ : Ensemble
        With more than one refit network (``ensemble_size > 1`` or
        ``refit_seeds > 1``): ``indices`` (for each refit network, the row of
        ``cv_results_`` of its architecture, ``best_index_`` first; a row
        appears once per seed), ``weights`` (summing to 1) and ``score``
        (validation score of the weighted average of the members' held-out
        predictions, on which they were chosen).
    ensemble_estimators_ : list of skorch.NeuralNetClassifier
        With more than one refit network: the networks refit on all the data,
        in the order of ``ensemble_.indices`` (the first is ``best_estimator_``).
    pareto_front_ : ndarray of int
        Rows of ``cv_results_`` of the non-dominated candidates (on
        ``objectives``, among those meeting ``constraints``; a repeated
        architecture once). Costs are in ``cv_results_["cost_<name>"]``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit`` (only when ``X`` has string column names).
    preprocessor_ : sklearn.compose.ColumnTransformer
        How ``X`` becomes the network's input, built from scikit-learn's
        transformers: numeric columns are imputed (``missing_values="impute"``)
        and standardised in float64, a DataFrame's categorical and string
        columns are one-hot encoded; ``get_feature_names_out()`` names the
        encoded columns.

    Notes
    -----
    ``X`` may be an array, a sparse matrix (made dense when the dense float32
    matrix fits in 2 GiB) or a pandas DataFrame whose categorical, string or
    object columns are one-hot encoded inside the estimator (a category not
    seen during ``fit`` encodes as all zeros). What happens on each kind of bad
    input or failure is listed in ``docs/failures.md``. ``save`` writes a
    model file that :func:`sknas.load` reads without unpickling code.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknas import NASClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NASClassifier(n_trials=2, max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _task = "classification"
    _REQUIRED_STATE = (*BaseNAS._REQUIRED_STATE, "classes_")
    _parameter_constraints: dict = {
        **BaseNAS._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        search_space: str | SearchSpace = "auto",
        strategy: str | optuna.samplers.BaseSampler = "auto",
        n_trials: int = 20,
        timeout: float | None = None,
        max_epochs: int = 50,
        patience: int = 10,
        scoring: Any = None,
        validation_fraction: float = 0.2,
        cv: Any = None,
        refit: Any = True,
        ensemble_size: int = 1,
        refit_seeds: int = 1,
        pruner: Any = "auto",
        error_score: Any = np.nan,
        missing_values: str = "error",
        max_parameters: int | None = None,
        candidate_timeout: float | None = None,
        device: str = "auto",
        n_threads: int | str | None = "auto",
        n_jobs: int | None = 1,
        random_state: Any = None,
        verbose: int = 0,
        storage: Any = None,
        study_name: str | None = None,
        callbacks: list | None = None,
        objectives: Any = ("score",),
        constraints: dict | None = None,
        latency_batch_size: int = 1,
        class_weight: dict | str | None = None,
    ) -> None:
        super().__init__(
            search_space=search_space,
            strategy=strategy,
            n_trials=n_trials,
            timeout=timeout,
            max_epochs=max_epochs,
            patience=patience,
            scoring=scoring,
            validation_fraction=validation_fraction,
            cv=cv,
            refit=refit,
            ensemble_size=ensemble_size,
            refit_seeds=refit_seeds,
            pruner=pruner,
            error_score=error_score,
            missing_values=missing_values,
            max_parameters=max_parameters,
            candidate_timeout=candidate_timeout,
            device=device,
            n_threads=n_threads,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            storage=storage,
            study_name=study_name,
            callbacks=callbacks,
            objectives=objectives,
            constraints=constraints,
            latency_batch_size=latency_batch_size,
        )
        self.class_weight = class_weight

    def _default_scoring(self) -> str:
        return "accuracy"

    def _check_raw_targets(self, y: Any) -> None:
        # Before scikit-learn's checks: they would report labels mixing types as
        # "continuous values", and fail on pandas' NA.
        dtype = getattr(y, "dtype", None)
        if y is None or (isinstance(dtype, np.dtype) and dtype.kind != "O"):
            return
        labels = np.asarray(y, dtype=object)
        if labels.ndim == 1:
            _check_label_values(labels)

    def _validate_targets(self, y: Any) -> tuple[np.ndarray, int]:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                "Classifier can't train when only one class is present: "
                f"y contains only the class {self.classes_[0]!r}."
            )
        return encoder.transform(y).astype(np.int64), len(self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the best network (or the weighted average of the ensemble's).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, in the format the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        proba = self._network_output(X, "predict_proba")
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, in the format the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _label_kind(value: Any) -> str:
    if isinstance(value, (str, bytes)):
        return "str"
    if isinstance(value, (Number, np.bool_)):
        return "number"
    return type(value).__name__


def _check_label_values(y: np.ndarray) -> None:
    """Refuse missing labels and labels of several types, saying which and where."""
    if y.dtype.kind != "O":
        return
    missing = missing_mask(y)
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(
            f"y has {len(rows)} missing class labels (None or NaN), first at row {rows[0]}. "
            "Every sample needs a label: drop these rows or give them a class of their own."
        )
    kinds: dict[str, Any] = {}
    for value in y:
        kinds.setdefault(_label_kind(value), value)
    if len(kinds) > 1:
        examples = ", ".join(f"{kind} ({value!r})" for kind, value in sorted(kinds.items()))
        raise ValueError(
            f"y mixes class labels of several types: {examples}. Use one type for all "
            "labels, e.g. y.astype(str)."
        )
