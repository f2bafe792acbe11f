"""The scikit-learn face of a search: :class:`BaseNAS`."""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    check_cv,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from sknas import _interrupts
from sknas._search import SearchOutcome
from sknas.estimators._budget import MAX_REFIT_SHARE
from sknas.estimators._callbacks import check_trial_callbacks_allowed, split_callbacks
from sknas.estimators._checks import (
    check_device_for_task,
    check_input_ndim,
    check_scorer,
    check_space_builds,
    clamp_threads,
    resolve_device,
)
from sknas.estimators._job import SearchJob, publish_job, trial_seed
from sknas.estimators._objectives import (
    SearchObjectives,
    check_objectives,
    check_search_objectives,
    check_study_directions,
    directions,
    pareto_front,
)
from sknas.estimators._progress import ProgressBar
from sknas.estimators._results import FINISHED_STATES, build_cv_results
from sknas.estimators._resume import check_or_record, study_record
from sknas.estimators._storage import GRACE_PERIOD, describe_storage, resolve_storage
from sknas.estimators._waiting import copy_to_memory, wait_for_running_trials
from sknas.estimators._weights import drop_unweighted_rows, fit_weights, remap_splits
from sknas.estimators._workers import run_with_workers
from sknas.evaluation.pruners import PRUNER_NAMES, make_pruner
from sknas.evaluation.training import TrainingEvaluator, torch_threads
from sknas.oneshot import ONESHOT_STRATEGIES, OneShotStrategy, is_oneshot
from sknas.samplers._registry import _VALID_NAMES, auto_strategy, default_pruner
from sknas.spaces._registry import SPACES, make_search_space
from sknas.spaces.base import SearchSpace
from sknas.utils.preprocessing import (
    MISSING_VALUES_OPTIONS,
    fit_transform_table,
    has_categorical,
    transform_table,
    validate_table,
)

__all__ = ["BaseNAS", "SearchFailedError", "resolve_device"]


#: With ``search_space="auto"``, tables with at most this many network inputs (after
#: preprocessing) get an MLP space that also offers periodic numeric embeddings (each
#: input becomes 16 values, so wider tables would make every candidate much larger).
EMBEDDING_MAX_INPUTS = 32

#: With ``cv="auto"``, data with fewer rows than this score candidates by k-fold.
SMALL_DATA_ROWS = 1000
#: Folds of that k-fold.
SMALL_DATA_FOLDS = 5


class SearchFailedError(RuntimeError):
    """No candidate of the search could be trained; the message lists why."""


@contextmanager
def optuna_log_level(verbose: int) -> Iterator[None]:
    """Quieten Optuna's per-trial log lines unless ``verbose >= 2``, then restore them."""
    previous = optuna.logging.get_verbosity()
    if verbose < 2:
        optuna.logging.set_verbosity(max(previous, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


class BaseNAS(BaseEstimator):
    """Shared machinery of :class:`NASClassifier` and :class:`NASRegressor`.

    ``fit`` runs an architecture search with Optuna: each trial's parameters
    are decoded into an architecture by the search space, trained with skorch
    and scored on held-out data; the best network is then refit on all the
    data. Subclasses define how targets are validated and encoded.
    """

    _task: str = ""

    _parameter_constraints: dict = {
        "search_space": [StrOptions({"auto"} | set(SPACES)), SearchSpace],
        "strategy": [
            StrOptions(_VALID_NAMES),
            StrOptions(set(ONESHOT_STRATEGIES)),
            optuna.samplers.BaseSampler,
            OneShotStrategy,
        ],
        "n_trials": [Interval(Integral, 1, None, closed="left")],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "cv": ["cv_object", StrOptions({"auto"}), None],
        "refit": ["boolean", callable, dict],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "refit_seeds": [Interval(Integral, 1, None, closed="left")],
        "pruner": [StrOptions(set(PRUNER_NAMES)), optuna.pruners.BasePruner, None],
        "error_score": [StrOptions({"raise"}), Real],
        "missing_values": [StrOptions(set(MISSING_VALUES_OPTIONS))],
        "max_parameters": [Interval(Integral, 1, None, closed="left"), None],
        "candidate_timeout": [Interval(Real, 0, None, closed="neither"), None],
        "device": [str, list],
        "n_jobs": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
            None,
        ],
        "n_threads": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "storage": [str, optuna.storages.BaseStorage, None],
        "study_name": [str, None],
        "callbacks": [list, None],
        "objectives": [tuple, list, str],
        "constraints": [dict, None],
        "latency_batch_size": [Interval(Integral, 1, None, closed="left")],
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
    ) -> None:
        self.search_space = search_space
        self.strategy = strategy
        self.n_trials = n_trials
        self.timeout = timeout
        self.max_epochs = max_epochs
        self.patience = patience
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.refit = refit
        self.ensemble_size = ensemble_size
        self.refit_seeds = refit_seeds
        self.pruner = pruner
        self.error_score = error_score
        self.missing_values = missing_values
        self.max_parameters = max_parameters
        self.candidate_timeout = candidate_timeout
        self.device = device
        self.n_threads = n_threads
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.storage = storage
        self.study_name = study_name
        self.callbacks = callbacks
        self.objectives = objectives
        self.constraints = constraints
        self.latency_batch_size = latency_batch_size

    def set_params(self, **params: Any) -> BaseNAS:
        """Set the estimator's parameters, and those of its search space or strategy.

        Nested names (``search_space__max_layers``) reach a component given as
        an object; a component given by name (``"auto"``, ``"mlp"``) has no
        parameters of its own, so nesting into it is refused with a message
        that says how to configure it.

        Parameters
        ----------
        **params : dict
            Parameter names and values, as in scikit-learn.

        Returns
        -------
        self
        """
        for key in params:
            component, _, nested = key.partition("__")
            value = params.get(component, getattr(self, component, None))
            if nested and isinstance(value, str):
                example = (
                    "search_space=MLPSpace(max_layers=3)"
                    if component == "search_space"
                    else f"{component}=<an object with a parameter {nested!r}>"
                )
                raise ValueError(
                    f"Cannot set {key!r}: {component}={value!r} is a name, not an object with "
                    f"parameters. Pass the component as an object first, e.g. {example} "
                    "(sknas.spaces.MLPSpace, sknas.spaces.NB201Space, an Optuna sampler)."
                )
        return super().set_params(**params)

    # -- hooks for subclasses --------------------------------------------------------
    def _validate_targets(self, y: Any) -> tuple[np.ndarray, int]:
        """Validate and encode ``y``; return the encoded targets and ``n_outputs``."""
        raise NotImplementedError

    def _default_scoring(self) -> str:
        raise NotImplementedError

    def _check_raw_targets(self, y: Any) -> None:
        """Refuse targets that scikit-learn's checks would misreport (before they run)."""

    # -- resolution of "auto" values -------------------------------------------------
    def _resolve_search_space(
        self,
        image_shape: tuple[int, ...] | None = None,
        sequence_shape: tuple[int, ...] | None = None,
        n_inputs: int | None = None,
    ) -> SearchSpace:
        """The search space to use; ``"auto"`` follows the shape of the input.

        For image input (``image_shape`` known) ``"auto"`` is a compact
        NAS-Bench-201 space (two cells per stage), for sequences
        (``sequence_shape`` known) a recurrent-cell space, else an MLP space;
        for tables of at most :data:`EMBEDDING_MAX_INPUTS` network inputs
        (``n_inputs``, after preprocessing) the MLP space also offers periodic
        numeric embeddings, whose cost grows with the number of inputs.
        A space with an unset ``image_shape`` (``sequence_shape``) parameter
        receives the data's shape; a regressor's MLP space does not search label
        smoothing (``label_smoothings=(0.0,)``).
        """
        if isinstance(self.search_space, SearchSpace):
            space = clone(self.search_space)
        elif self.search_space == "auto" and image_shape is not None:
            space = make_search_space("nb201").set_params(cells_per_stage=2)
        elif self.search_space == "auto" and sequence_shape is not None:
            space = make_search_space("recurrent")
        else:
            name = "mlp" if self.search_space == "auto" else self.search_space
            space = make_search_space(name)
            if self.search_space == "auto" and n_inputs is not None:
                if n_inputs <= EMBEDDING_MAX_INPUTS:
                    space.set_params(embeddings=("none", "periodic"))
        params = space.get_params(deep=False)
        if self._task == "regression" and "label_smoothings" in params:
            # A training choice of classification losses: a regressor does not search it.
            space.set_params(label_smoothings=(0.0,))
        for name, shape in (("image_shape", image_shape), ("sequence_shape", sequence_shape)):
            if shape is not None and name in params and params[name] is None:
                space.set_params(**{name: tuple(shape)})
        return space

    def _flatten_images(self, X: Any, *, reset: bool) -> Any:
        """Turn a batch of images ``(n, C, H, W)`` or sequences ``(n, T, F)`` into rows.

        The shape of one image is remembered in ``image_shape_``, that of one
        sequence in ``sequence_shape_`` (each None otherwise), and checked at
        prediction time; flat rows pass through. Input of any other dimension
        is refused (see :func:`check_input_ndim`).
        """
        check_input_ndim(X)
        ndim = getattr(X, "ndim", None)
        shape = tuple(int(v) for v in X.shape[1:]) if ndim in (3, 4) else None
        if reset:
            self.image_shape_ = shape if ndim == 4 else None
            self.sequence_shape_ = shape if ndim == 3 else None
        elif ndim in (3, 4):
            fitted = getattr(self, "image_shape_" if ndim == 4 else "sequence_shape_", None)
            if shape != fitted:
                kind = "images" if ndim == 4 else "sequences"
                axes = "(channels, height, width)" if ndim == 4 else "(timesteps, features)"
                hint = "" if ndim == 4 or fitted is None else (
                    " Pad shorter sequences with NaN at their end to the fitted length."
                )
                raise ValueError(
                    f"X holds {kind} of shape {shape} {axes}, but {type(self).__name__} "
                    f"was fitted on {fitted}.{hint}"
                )
        if shape is None:
            return X
        X = np.asarray(X)
        return X.reshape(len(X), -1)

    def _resolve_devices(self) -> list[str]:
        """The resolved devices: ``device``, or each entry of a list of devices.

        Every device is checked (see :func:`resolve_device`) and must run this
        task (see :func:`check_device_for_task`).
        """
        given = self.device if isinstance(self.device, list) else [self.device]
        if not given or not all(isinstance(d, str) for d in given):
            raise ValueError(
                "The 'device' parameter must be a torch device string or a non-empty list "
                f"of them, e.g. ['cuda:0', 'cuda:1']. Got {self.device!r} instead."
            )
        devices = [resolve_device(d) for d in given]
        for device in devices:
            check_device_for_task(device, self._task)
        return devices

    def _resolve_threads(self, space: SearchSpace) -> int | None:
        if self.n_threads == "auto":
            return space.preferred_threads
        return clamp_threads(self.n_threads, warn=False)  # type: ignore[arg-type]

    def _resolve_pruner(
        self, search_space: SearchSpace | None = None
    ) -> optuna.pruners.BasePruner:
        """The study's pruner (a new one, or a copy of the one given); budgets are epochs.

        ``"auto"`` is the pruner the strategy names (``"hyperband"`` for
        ``"bohb"``), else ``"median"``; ``strategy="auto"`` is first resolved
        through ``search_space``. See :func:`sknas.evaluation.make_pruner`.
        """
        if SearchObjectives(self).multi:
            return optuna.pruners.NopPruner()  # Optuna cannot prune multi-objective trials
        strategy = auto_strategy(search_space) if self.strategy == "auto" else self.strategy
        return make_pruner(
            self.pruner, max_epochs=self.max_epochs, default=default_pruner(strategy)
        )

    def _make_splits(
        self, X: np.ndarray, y: np.ndarray, seed: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        classifier = self._task == "classification"
        if isinstance(self.cv, str):  # "auto": k-fold on small data, else the hold-out
            if SMALL_DATA_FOLDS * 2 <= len(X) < SMALL_DATA_ROWS:
                return self._small_data_folds(X, y, seed)
        elif self.cv is not None:
            cv = check_cv(self.cv, y, classifier=classifier)
            if hasattr(cv, "shuffle") and cv.shuffle and hasattr(cv, "random_state"):
                if cv.random_state is None:
                    cv = clone(cv).set_params(random_state=seed)
            return [(train, test) for train, test in cv.split(X, y)]
        # At least two validation samples when the data allow it: scores such as R² are
        # undefined on one sample, which would fail every candidate of a small data set.
        n_valid = max(2 if len(X) >= 4 else 1, int(round(self.validation_fraction * len(X))))
        if n_valid >= len(X):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training data "
                f"for {len(X)} samples."
            )
        if classifier:
            counts = np.bincount(y)
            n_classes = int((counts > 0).sum())
            if counts[counts > 0].min() >= 2 and n_classes <= n_valid <= len(X) - n_classes:
                splitter: Any = StratifiedShuffleSplit(
                    n_splits=1, test_size=n_valid, random_state=seed
                )
                return list(splitter.split(X, y))
        splitter = ShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
        return list(splitter.split(X))

    def _cv_is_index_list(self) -> bool:
        """Whether ``cv`` lists its splits as row indices (not a count or a splitter)."""
        return not (
            self.cv is None or isinstance(self.cv, (str, Integral)) or hasattr(self.cv, "split")
        )

    def _small_data_folds(
        self, X: np.ndarray, y: np.ndarray, seed: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """K-fold splits for small data (stratified when every class can fill the folds).

        One hold-out of a few dozen rows ranks candidates mostly by chance;
        scoring each on every row through :data:`SMALL_DATA_FOLDS` folds costs
        more training on data that trains fast, and cuts that noise.
        """
        if self._task == "classification":
            counts = np.bincount(y)
            if counts[counts > 0].min() >= SMALL_DATA_FOLDS:
                folds: Any = StratifiedKFold(SMALL_DATA_FOLDS, shuffle=True, random_state=seed)
                return list(folds.split(X, y))
        folds = KFold(SMALL_DATA_FOLDS, shuffle=True, random_state=seed)
        return list(folds.split(X))

    # -- fit -------------------------------------------------------------------------
    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """Check ``X`` and return the float32 matrix the network reads.

        With ``reset=True`` the preprocessing (imputation, scaling, one-hot
        encoding of a DataFrame's categorical columns; scikit-learn's
        transformers) is fitted on ``X`` first and kept in ``preprocessor_``;
        otherwise the one fitted in ``fit`` is applied. See
        :mod:`sknas.utils.preprocessing`.
        """
        if getattr(self, "sequence_shape_", None) is not None:
            X_checked, _ = validate_table(self, X, reset=reset)
            return self._scale_sequences(X_checked, reset=reset)
        if reset:
            X_checked, _ = validate_table(self, X, reset=True)
            self.preprocessor_, X32 = fit_transform_table(X_checked, self.missing_values)
            return X32
        X_checked, _ = validate_table(
            self, X, reset=False, keep_objects=has_categorical(self.preprocessor_)
        )
        return transform_table(self.preprocessor_, X_checked, self.missing_values)

    def _validate_fit_data(
        self, X: Any, y: Any, sample_weight: Any = None
    ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | None, np.ndarray | None]:
        """Check the training data.

        Returns float32 ``X``, encoded ``y``, ``n_outputs``, the rows' weights
        and the indices of the rows kept (None: all). Rows of weight 0 are
        dropped here, and equal weights become None (see
        :mod:`sknas.estimators._weights`).
        """
        self._check_raw_targets(y)
        X_checked, y_raw = validate_table(
            self,
            X,
            y,
            reset=True,
            ensure_min_samples=2,
            multi_output=self._task == "regression",
        )
        weights = fit_weights(
            sample_weight, X_checked, y_raw, getattr(self, "class_weight", None)
        )
        kept = None
        if weights is not None:
            X_checked, y_raw, weights, kept = drop_unweighted_rows(X_checked, y_raw, weights)
        y_encoded, n_outputs = self._validate_targets(y_raw)
        if getattr(self, "sequence_shape_", None) is not None:
            X_seq = self._scale_sequences(X_checked, reset=True)
            return X_seq, y_encoded, n_outputs, weights, kept
        self.preprocessor_, X32 = fit_transform_table(X_checked, self.missing_values)
        return X32, y_encoded, n_outputs, weights, kept

    def _scale_sequences(self, X: np.ndarray, *, reset: bool) -> np.ndarray:
        """Check flattened sequences and standardise each feature (fitted when ``reset``).

        NaN is read as padding at the end of shorter sequences, and kept; see
        :mod:`sknas.utils.sequences`. ``preprocessor_`` is a
        :class:`~sknas.utils.sequences.SequenceScaler`.
        """
        from sknas.utils.sequences import SequenceScaler, check_sequences

        if hasattr(X, "toarray"):
            X = X.toarray()
        X = np.asarray(X, dtype=np.float64)
        timesteps, n_channels = tuple(self.sequence_shape_ or (len(X[0]), 1))
        check_sequences(X.reshape(len(X), timesteps, n_channels), fit=reset)
        if reset:
            self.preprocessor_ = SequenceScaler(timesteps, n_channels).fit(X)
        return self.preprocessor_.transform(X)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # made dense, within MAX_DENSE_BYTES
        tags.input_tags.allow_nan = self.missing_values == "impute"
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseNAS:
        """Search architectures on ``(X, y)`` and refit the best on all of it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, timesteps, features) \
                or (n_samples, channels, height, width)
            Training inputs: a table, sequences or images (see the user guide's
            "Input shapes"). In sequences, NaN timesteps at the end of a
            sequence are padding (variable-length sequences).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each sample (not all zero). It weights
            every candidate's training loss, its validation loss and score,
            the ensemble's selection and the refit; rows of weight 0 are left
            out before anything is fitted. Multiplied by the classifier's
            ``class_weight``. See "Weights and imbalanced data" in
            ``docs/user_guide.md``.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C before any trial completed, or on a second Ctrl-C (the
            refit is then abandoned). One Ctrl-C after a trial completed stops
            the search instead: the estimator is fitted from the best trial so
            far, with a ``UserWarning``. See the "Ctrl-C" section of
            ``docs/failures.md``.
        """
        with _interrupts.sigint_guard():
            return self._fit(X, y, sample_weight)

    def _fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseNAS:
        started = time.time()  # ``timeout`` counts from here
        self._validate_params()
        trial_callbacks, _ = split_callbacks(self.callbacks)
        check_trial_callbacks_allowed(trial_callbacks, self._resolve_n_jobs())
        goals = check_search_objectives(self)
        X = self._flatten_images(X, reset=True)
        n_rows = _num_samples(X)
        X32, y_encoded, n_outputs, weights, kept = self._validate_fit_data(X, y, sample_weight)

        space = self._resolve_search_space(
            self.image_shape_, self.sequence_shape_, n_inputs=X32.shape[1]
        )
        devices = self._resolve_devices()
        device = devices[0]
        seeds = check_random_state(self.random_state).randint(0, 2**31 - 1, size=3)
        sampler_seed, split_seed, train_seed = (int(s) for s in seeds)
        splits = self._make_splits(X32, y_encoded, split_seed)
        if kept is not None and self._cv_is_index_list():
            splits = remap_splits(splits, kept, n_rows)
        self._check_settings(space, X32, y_encoded, n_outputs, splits, weights)
        job = SearchJob(
            estimator=clone(self),
            search_space=space,
            X=X32,
            y=y_encoded,
            n_outputs=n_outputs,
            splits=splits,
            sampler_seed=sampler_seed,
            train_seed=train_seed,
            device=device,
            n_trials=self.n_trials,
            deadline=None if self.timeout is None else started + self.timeout,
            sample_weight=weights,
            refit_networks=self.ensemble_size * self.refit_seeds if self.refit else 0,
            refit_reserve_max=MAX_REFIT_SHARE * (self.timeout or 0.0),
        )
        with tempfile.TemporaryDirectory(prefix="sknas-") as tmp_dir:
            study, outcome = self._run_job(job, space, tmp_dir)
        evaluator = self._make_evaluator(space, n_outputs, job.splits, device)
        trials = study.get_trials(deepcopy=False, states=FINISHED_STATES)
        error_score = np.nan if isinstance(self.error_score, str) else float(self.error_score)
        self.study_ = study
        self.search_space_ = space
        self.device_ = device
        self.n_trials_ = len(trials)
        self.cv_results_ = build_cv_results(trials, error_score)
        interrupted = outcome.interrupted or _interrupts.count() > 0
        n_complete = sum(t.state == TrialState.COMPLETE for t in trials)
        if interrupted and not n_complete:
            raise KeyboardInterrupt  # nothing to refit: stop as Python would
        self._raise_if_nothing_completed(trials)
        if interrupted:
            warnings.warn(
                f"Search interrupted by the user after {len(trials)} finished trials "
                f"({n_complete} complete); the estimator is fitted from the best so far.",
                UserWarning,
                stacklevel=3,
            )

        self.pareto_front_ = pareto_front(self.cv_results_, goals.objectives, goals.constraints)
        front = self.pareto_front_
        chosen = None if callable(self.refit) else goals.best_index(self.cv_results_, front)
        self.best_index_ = self._select_best_index() if chosen is None else chosen
        best_trial = trials[self.best_index_]
        self.best_params_ = dict(best_trial.params)
        self.best_architecture_ = space.decode(best_trial.params)
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.n_outputs_ = n_outputs
        self._set_oneshot_history(study)
        # A network of an earlier fit must not outlive this one's search.
        for name in ("best_estimator_", "refit_time_", "ensemble_", "ensemble_estimators_"):
            self.__dict__.pop(name, None)
        if self.refit:
            self._refit(
                trials, evaluator, X32, y_encoded, job.splits, train_seed, weights, job.deadline
            )
        if not interrupted and _interrupts.count():
            warnings.warn(
                "Interrupted by the user after the search had finished; the refit of the "
                "best candidate went on (a second Ctrl-C abandons it).",
                UserWarning,
                stacklevel=3,
            )
        return self

    def _refit(
        self,
        trials: list,
        evaluator: TrainingEvaluator,
        X: np.ndarray,
        y: np.ndarray,
        splits: list,
        train_seed: int,
        sample_weight: np.ndarray | None = None,
        deadline: float | None = None,
    ) -> None:
        """Refit the chosen candidate (and, with ``ensemble_size > 1``, the ensemble's members).

        Each network is trained on all the data (weighted by ``sample_weight``)
        for its own median best epoch. A member chosen ``k`` times by greedy
        ensemble selection is refit ``k * refit_seeds`` times, each network from
        its own seed (the first from its trial's seed), and every network gets
        an equal share of the ensemble's weight. With a ``deadline``
        (``timeout``), the networks are trained in :func:`refit_order` while the
        time left covers the next one (estimated from its trial's training time,
        corrected by the networks refit so far); the first is always trained.
        The first Ctrl-C lets the refit finish; a second one abandons it (and
        nothing of it is kept).
        """
        from sknas.estimators._budget import RefitClock, network_seconds, refit_order
        from sknas.estimators._ensemble import Ensemble, seed_networks, select_ensemble

        ensemble = Ensemble((self.best_index_,), (1.0,), self.best_score_)
        if self.ensemble_size > 1:
            ensemble, n_missing = select_ensemble(
                trials, splits=splits, y=y, scorer=evaluator.scorer, task=self._task,
                best_index=self.best_index_, size=self.ensemble_size,
                sample_weight=sample_weight,
            )
            if n_missing:
                warnings.warn(
                    f"{n_missing} completed candidates have no held-out predictions on this "
                    "search's validation rows (scored on other splits, by a search with "
                    "ensemble_size=1, or too large to keep) and are left out of the ensemble.",
                    UserWarning,
                    stacklevel=4,
                )
        selections = seed_networks(ensemble, self.ensemble_size, 1).indices
        order = refit_order(selections, self.refit_seeds)
        start = time.perf_counter()
        nets: list[Any] = []
        trained: list[int] = []
        clock = RefitClock(deadline)
        with _interrupts.interruptible(_interrupts.ABORT_COUNT):
            repeat: dict[int, int] = {}
            for index in order:
                cost = network_seconds(trials[index], len(X), splits)
                if nets and not clock.has_time_for(cost):
                    break
                began = time.perf_counter()
                n_epochs = int(self.cv_results_["n_epochs"][index])
                seed = trial_seed(train_seed, trials[index].number)
                if repeat.get(index):
                    seed = trial_seed(seed, repeat[index])
                repeat[index] = repeat.get(index, 0) + 1
                nets.append(
                    evaluator.fit_final(
                        self.search_space_.decode(trials[index].params),
                        X,
                        y,
                        n_epochs=n_epochs if n_epochs > 0 else self.max_epochs,
                        seed=seed,
                        sample_weight=sample_weight,
                    )
                )
                trained.append(index)
                clock.record(cost, time.perf_counter() - began)
        # A member's networks side by side, members in selection order.
        members = list(dict.fromkeys(order))
        grouped = sorted(range(len(nets)), key=lambda i: members.index(trained[i]))
        nets = [nets[i] for i in grouped]
        self.best_estimator_ = nets[0]
        if len(nets) > 1:
            share = 1.0 / len(nets)
            self.ensemble_ = Ensemble(
                tuple(trained[i] for i in grouped), (share,) * len(nets), ensemble.score
            )
            self.ensemble_estimators_ = nets
        self.refit_time_ = time.perf_counter() - start

    def _check_settings(
        self,
        space: SearchSpace,
        X: np.ndarray,
        y: np.ndarray,
        n_outputs: int,
        splits: list,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        """Refuse, before any training, settings that cannot work for this data.

        The scorer must score this task on the validation rows (with their
        weights, when there are any), and the search
        space must build a network for this input (see :mod:`._checks`). A
        thread count above the cores is cut, with one warning here.
        """
        if isinstance(self.n_threads, Integral):
            clamp_threads(int(self.n_threads))
        scorer = check_scoring(self, scoring=self.scoring or self._default_scoring())
        check_scorer(scorer, self.scoring, self._task, X, y, splits[0][1], sample_weight)
        check_space_builds(
            space, X.shape[1], n_outputs, self.image_shape_ or self.sequence_shape_
        )
        if is_oneshot(self.strategy):
            from sknas.oneshot._estimator import check_oneshot_space

            check_oneshot_space(space)

    def _make_evaluator(
        self,
        space: SearchSpace,
        n_outputs: int,
        splits: list,
        device: str,
        search_deadline: float | None = None,
    ) -> TrainingEvaluator:
        """The evaluator that trains and scores this search's candidates.

        ``search_deadline`` (``time.time()``) also stops the candidate in progress.
        """
        return TrainingEvaluator(
            space,
            task=self._task,
            n_outputs=n_outputs,
            scorer=check_scoring(self, scoring=self.scoring or self._default_scoring()),
            splits=splits,
            max_epochs=self.max_epochs,
            patience=self.patience,
            device=device,
            n_threads=self._resolve_threads(space),
            max_parameters=self.max_parameters,
            candidate_timeout=self.candidate_timeout,
            search_deadline=search_deadline,
            keep_predictions=self.ensemble_size > 1,
            callbacks=split_callbacks(self.callbacks)[1],
        )

    def _resolve_n_jobs(self) -> int:
        n_jobs = 1 if self.n_jobs is None else int(self.n_jobs)
        if n_jobs < 0:
            n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
        return n_jobs

    def _run_job(
        self, job: SearchJob, space: SearchSpace, tmp_dir: str
    ) -> tuple[optuna.Study, SearchOutcome]:
        """Run the search: in this process, plus worker processes when ``n_jobs > 1``.

        Returns the study (copied into memory when its storage was a private
        temporary file) and this process's outcome.
        """
        n_jobs = self._resolve_n_jobs()
        if self.study_name is not None and self.storage is None:
            warnings.warn(
                f"study_name={self.study_name!r} is ignored without a storage: the search is "
                "kept in memory and cannot be resumed. Give storage= to keep it.",
                UserWarning,
                stacklevel=3,
            )
        storage, spec = resolve_storage(self.storage, n_jobs, tmp_dir)
        with optuna_log_level(self.verbose):
            study = optuna.create_study(
                storage=storage,
                study_name=self._study_name(job),
                sampler=optuna.samplers.RandomSampler(),
                pruner=self._resolve_pruner(space),
                directions=directions(check_objectives(self.objectives)),
                load_if_exists=True,
            )
            if self.storage is not None:  # before any training: refuse another search's study
                record = study_record(
                    self, space, job.X, job.y, job.n_outputs, job.sample_weight
                )
                check_or_record(study, record, describe_storage(self.storage))
            check_study_directions(study, check_objectives(self.objectives))
            if not study.trials and not is_oneshot(self.strategy):
                # (a one-shot search's first trial is its derived architecture)
                for params in space.initial_params():
                    study.enqueue_trial(params, user_attrs={"initial": True})
            if spec is not None and self.storage is not None:
                publish_job(study, job)
            n_done = len(study.get_trials(deepcopy=False, states=FINISHED_STATES))
            progress = ProgressBar(self.n_trials, n_done) if self.verbose else None
            callbacks = [progress] if progress is not None else []
            callbacks += split_callbacks(self.callbacks)[0]
            if n_jobs == 1:
                outcome = job.run(study, callbacks=callbacks)
            else:
                outcome = self._run_with_workers(job, study, spec, n_jobs, space, callbacks)
            if spec is not None and not (outcome.interrupted or _interrupts.count()):
                grace = spec.grace_period if spec.grace_period is not None else GRACE_PERIOD
                try:
                    with _interrupts.interruptible():
                        wait_for_running_trials(study, deadline=job.deadline, silent_limit=grace)
                except KeyboardInterrupt:
                    _interrupts.note()
            if progress is not None:
                progress.close()
            if self.storage is None and spec is not None:
                study = copy_to_memory(study)
        return study, outcome

    def _study_name(self, job: SearchJob) -> str | None:
        """``study_name``; without a storage, a name derived from the seeds.

        Optuna's ``HyperbandPruner`` assigns trials to brackets by hashing the
        study's name with the trial number, so a private study gets a
        reproducible name instead of a random one (a user's storage keeps
        Optuna's naming: a fixed name there would resume an earlier study).
        """
        if self.study_name is not None or self.storage is not None:
            return self.study_name
        return f"sknas-{job.sampler_seed}-{job.train_seed}"

    def _run_with_workers(
        self,
        job: SearchJob,
        study: optuna.Study,
        spec: Any,
        n_jobs: int,
        space: SearchSpace,
        callbacks: list,
    ) -> SearchOutcome:
        threads = None
        if space.preferred_threads is None and self.n_threads == "auto":
            threads = max(1, (os.cpu_count() or 1) // n_jobs)
        devices = self._resolve_devices() if isinstance(self.device, list) else None
        return run_with_workers(job, study, spec, n_jobs, threads, callbacks, devices)

    def _raise_if_nothing_completed(self, trials: list) -> None:
        if any(t.state == TrialState.COMPLETE for t in trials):
            return
        reasons = Counter(
            t.user_attrs.get("fail_reason", f"trial {t.state.name.lower()}") for t in trials
        )
        listed = "; ".join(f"{reason} (x{count})" for reason, count in reasons.most_common())
        raise SearchFailedError(
            f"No candidate finished successfully out of {len(trials)} trials. "
            f"Reasons: {listed or 'no trial ran (timeout too short?)'}"
        )

    def _select_best_index(self) -> int:
        if callable(self.refit):
            index = self.refit(self.cv_results_)
            if not isinstance(index, (Integral, np.integer)) or not (
                0 <= int(index) < len(self.cv_results_["params"])
            ):
                raise IndexError(
                    "The callable given as refit must return an index into cv_results_; "
                    f"got {index!r}."
                )
            if self.cv_results_["state"][index] != "COMPLETE":
                raise ValueError(
                    f"The callable given as refit chose trial {index}, which did not complete."
                )
            return int(index)
        results = self.cv_results_
        scores = np.where(results["state"] == "COMPLETE", results["mean_test_score"], -np.inf)
        scores = np.where(np.isnan(scores), -np.inf, scores)
        # Equal scores are common on small validation sets: prefer the lower loss.
        tied = np.flatnonzero(scores == scores.max())
        losses = np.nan_to_num(results["mean_valid_loss"][tied], nan=np.inf)
        return int(tied[np.argmin(losses)])

    # -- fitted state ----------------------------------------------------------------
    #: Fitted attributes every fitted estimator has (``_set_fitted_state`` requires them).
    _REQUIRED_STATE: tuple[str, ...] = (
        "search_space_", "best_architecture_", "best_params_", "best_score_", "best_index_",
        "n_trials_", "cv_results_", "n_features_in_", "n_outputs_", "preprocessor_",
        "image_shape_", "device_",
    )
    #: Fitted attributes that depend on the data or the settings.
    _OPTIONAL_STATE: tuple[str, ...] = (
        "best_estimator_", "refit_time_", "feature_names_in_", "study_", "ensemble_",
        "ensemble_estimators_", "sequence_shape_", "pareto_front_", "arch_history_",
    )

    def _set_oneshot_history(self, study: optuna.Study) -> None:
        """``arch_history_``: the one-shot search's per-epoch record (one-shot strategies only)."""
        from sknas.oneshot._estimator import ONESHOT_ATTR

        record = study.user_attrs.get(ONESHOT_ATTR)
        if record is None:
            self.__dict__.pop("arch_history_", None)
        else:
            self.arch_history_ = list(record["history"])

    def _get_fitted_state(self) -> dict[str, Any]:
        """The fitted attributes, by name (what :meth:`save` writes).

        Returns
        -------
        dict
            Every attribute of ``_REQUIRED_STATE`` and those of
            ``_OPTIONAL_STATE`` the estimator has.
        """
        check_is_fitted(self, "cv_results_")
        names = self._REQUIRED_STATE + self._OPTIONAL_STATE
        return {name: getattr(self, name) for name in names if hasattr(self, name)}

    def _set_fitted_state(self, state: dict[str, Any]) -> BaseNAS:
        """Make this estimator fitted from ``state`` (what :func:`sknas.load` reads).

        Parameters
        ----------
        state : dict
            Fitted attributes by name, as :meth:`_get_fitted_state` returns them.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            When a required attribute is missing or a name is not a fitted attribute.
        """
        known = set(self._REQUIRED_STATE + self._OPTIONAL_STATE)
        unknown = sorted(set(state) - known)
        missing = sorted(set(self._REQUIRED_STATE) - set(state))
        if unknown or missing:
            raise ValueError(
                f"Not a fitted state of {type(self).__name__}: unknown {unknown}, "
                f"missing {missing}."
            )
        for name in self._REQUIRED_STATE + self._OPTIONAL_STATE:
            if name in state:
                setattr(self, name, state[name])
            elif hasattr(self, name):
                delattr(self, name)
        return self

    def leaderboard(self, *, include_failed: bool = True) -> Any:
        """The candidates of the search as a pandas DataFrame, best first.

        Parameters
        ----------
        include_failed : bool, default=True
            Keep pruned and failed candidates (they rank last).

        Returns
        -------
        pandas.DataFrame
            One row per candidate, indexed by trial number: ``rank``,
            ``score``, ``score_std``, ``n_parameters``, ``fit_time``,
            ``epochs``, ``state``, ``architecture`` (readable) and
            ``fail_reason``.
        """
        from sknas.estimators._leaderboard import leaderboard

        return leaderboard(self, include_failed=include_failed)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to ``path``: weights plus a JSON description.

        The file is a zip archive holding ``model.json`` and ``weights.pt``
        (a ``state_dict``, readable with ``torch.load(..., weights_only=True)``);
        :func:`sknas.load` rebuilds the estimator from it without unpickling code.

        Parameters
        ----------
        path : str or path-like
            Where to write (replaced atomically if it exists).

        Returns
        -------
        Path
        """
        from sknas.estimators._persistence import save_model

        return save_model(self, path)

    def export_onnx(self, path: str | os.PathLike) -> Path:
        """Write the whole inference path (preprocessing, network or ensemble) as ONNX.

        The model reads the raw features: fitted on a DataFrame, one input
        per column named after it (float32, or strings for categorical
        columns, ``""`` for a missing category); fitted on an array, one
        float32 input ``X``. Outputs: ``label`` and ``probabilities`` for a
        classifier, ``prediction`` for a regressor. Needs the ``export``
        extra; see :func:`sknas.export.export_onnx` and ``docs/export.md``.

        Parameters
        ----------
        path : str or path-like
            Where to write the model.

        Returns
        -------
        Path
        """
        from sknas.export import export_onnx

        return export_onnx(self, path)

    def export_torchscript(self, path: str | os.PathLike) -> Path:
        """Write the whole inference path (preprocessing, network or ensemble) as TorchScript.

        ``torch.jit.load(path)(X, categories)`` predicts from the numeric
        columns ``X`` and the categorical columns as lists of strings; see
        :func:`sknas.export.export_torchscript` and ``docs/export.md``.

        Parameters
        ----------
        path : str or path-like
            Where to write the module.

        Returns
        -------
        Path
        """
        from sknas.export import export_torchscript

        return export_torchscript(self, path)

    # -- prediction ------------------------------------------------------------------
    def _check_refitted(self, method: str) -> Any:
        check_is_fitted(self, "cv_results_")
        if not hasattr(self, "best_estimator_"):
            raise NotFittedError(
                f"{type(self).__name__} has no refitted network (fitted with refit=False, "
                f"or its refit was interrupted): {method} is not available. Fit with "
                "refit=True to get a network trained on all the data."
            )
        return self.best_estimator_

    def _network_output(self, X: Any, method: str) -> np.ndarray:
        """The refit network's output, or the weighted average of the ensemble's members'.

        Class probabilities are normalised per member before they are averaged.
        """
        from sknas.estimators._ensemble import average_outputs

        net = self._check_refitted(method)
        X32 = self._validate_X(self._flatten_images(X, reset=False), reset=False)
        members = getattr(self, "ensemble_estimators_", [net])
        outputs = []
        with torch_threads(self._resolve_threads(self.search_space_)):
            for member in members:
                output = member.predict_proba(X32) if method == "predict_proba" else (
                    member.predict(X32)
                )
                outputs.append(np.asarray(output, dtype=np.float64))
        if len(outputs) == 1:
            return outputs[0]
        if method == "predict_proba":
            outputs = [proba / proba.sum(axis=1, keepdims=True) for proba in outputs]
        return average_outputs(outputs, self.ensemble_.weights)
