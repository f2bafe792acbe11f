"""Performance estimation by training each candidate with skorch."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from sknas._optuna_compat import study_identity
from sknas.evaluation._inheritance import InheritedStart, WeightCache, plan_of, wants_weights
from sknas.spaces.base import Architecture, SearchSpace
from sknas.utils._threads import torch_threads

__all__ = ["TrainingEvaluator", "EvaluationResult", "DEFAULT_TRAINING", "torch_threads"]

#: Training choices used where the search space does not decide them. ``grad_clip``
#: is the largest gradient norm (0: no clipping); ``patience_steps`` makes early
#: stopping wait at least that many optimisation steps, whatever the epoch's size
#: (patience in epochs is then ``max(patience, ceil(patience_steps / steps per epoch))``).
DEFAULT_TRAINING: dict[str, Any] = {
    "lr": 1e-3,
    "weight_decay": 0.0,
    "batch_size": 128,
    "optimizer": "adam",
    "label_smoothing": 0.0,
    "grad_clip": 0.0,
    "patience_steps": 0,
}

Split = tuple[np.ndarray, np.ndarray]


@dataclass
class EvaluationResult:
    """Outcome of evaluating one candidate.

    Parameters
    ----------
    score : float
        Mean validation score over the splits (greater is better).
    split_scores : list of float
        Validation score of each split.
    best_epochs : list of int
        Epoch (1-based) of the best validation score in each split (among
        epochs with equal scores, the one with the lowest validation loss).
    valid_loss : float
        Mean validation loss at those epochs; breaks ties between candidates.
    n_parameters : int
        Trainable parameters of the network.
    fit_time : float
        Seconds spent training.
    trained_epochs : int
        Epochs trained, over all the splits (best epochs, then patience).
    timed_out : bool
        True when ``candidate_timeout`` stopped training early.
    predictions : list of ndarray, optional
        Held-out predictions of each split at its best epoch (class
        probabilities, or regression outputs), when the evaluator keeps them.
    """

    score: float
    split_scores: list[float] = field(default_factory=list)
    best_epochs: list[int] = field(default_factory=list)
    valid_loss: float = float("nan")
    n_parameters: int = 0
    fit_time: float = 0.0
    trained_epochs: int = 0
    timed_out: bool = False
    predictions: list[np.ndarray] | None = None


def _optimizer_class(name: str) -> tuple[Any, dict[str, Any]]:
    import torch

    if name == "adam":
        return torch.optim.Adam, {}
    if name == "adamw":
        return torch.optim.AdamW, {}
    if name == "sgd":
        return torch.optim.SGD, {"momentum": 0.9, "nesterov": True}
    raise ValueError(f"Unknown optimizer {name!r}; expected 'adam', 'adamw' or 'sgd'.")


def _moments(
    values: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column (weighted by ``sample_weight``), in float64.

    The columns are first divided by their largest magnitude, so that the
    variance of values of any size is representable; a column is constant (scale
    1 in its own units) by scikit-learn's test, which is relative to the data.
    """
    from sklearn.preprocessing import MaxAbsScaler, StandardScaler

    values = np.asarray(values, dtype=np.float64)
    max_abs = MaxAbsScaler().fit(values).scale_
    scaler = StandardScaler().fit(values / max_abs, sample_weight=sample_weight)
    return scaler.mean_ * max_abs, scaler.scale_ * max_abs


class TrainingEvaluator:
    """Train candidates with skorch and score them on held-out data.

    Parameters
    ----------
    search_space : SearchSpace
        Builds each candidate's module and, through ``training_config``, may
        decide its learning rate, weight decay, batch size and optimiser.
    task : {"classification", "regression"}
        Decides the loss (cross-entropy or standardised MSE) and skorch class.
    n_outputs : int
        Classes (classification) or targets (regression).
    scorer : callable
        ``scorer(net, X, y)``: a scikit-learn scorer, greater is better.
    splits : sequence of (train_indices, valid_indices)
        How candidates are scored (one hold-out, or k folds).
    max_epochs : int
        Most epochs per candidate.
    patience : int
        Epochs without improvement before early stopping.
    device : str
        Torch device.
    n_threads : int, optional
        Torch intra-op threads while training (restored afterwards); None
        keeps torch's setting.
    max_parameters : int, optional
        Candidates with more trainable parameters are not trained: ``evaluate``
        prunes them (``optuna.TrialPruned``, reason in the trial's
        ``fail_reason`` user attribute).
    candidate_timeout : float, optional
        Seconds of training per candidate (all splits together); training stops
        at the end of the epoch in which they run out, and the candidate is
        scored on its best epoch so far.
    search_deadline : float, optional
        ``time.time()`` at which the whole search ends; a candidate still
        training then stops after its current epoch, like ``candidate_timeout``.
    keep_predictions : bool, default=False
        Keep each split's held-out predictions at the restored best epoch in
        the result (``EvaluationResult.predictions``), for ensemble selection.
    callbacks : sequence of skorch.callbacks.Callback, default=()
        Added (each as a fresh deep copy) to every net this evaluator builds,
        after sknas' own callbacks.
    """

    def __init__(
        self,
        search_space: SearchSpace,
        *,
        task: str,
        n_outputs: int,
        scorer: Callable[..., float],
        splits: Sequence[Split],
        max_epochs: int,
        patience: int,
        device: str = "cpu",
        n_threads: int | None = None,
        max_parameters: int | None = None,
        candidate_timeout: float | None = None,
        search_deadline: float | None = None,
        keep_predictions: bool = False,
        callbacks: Sequence[Any] = (),
    ) -> None:
        self.search_space = search_space
        self.task = task
        self.n_outputs = n_outputs
        self.scorer = scorer
        self.splits = list(splits)
        self.max_epochs = max_epochs
        self.patience = patience
        self.device = device
        self.n_threads = n_threads
        self.max_parameters = max_parameters
        self.candidate_timeout = candidate_timeout
        self.search_deadline = search_deadline
        self._weights = WeightCache()
        self.keep_predictions = keep_predictions
        self.callbacks = list(callbacks)

    # -- building ------------------------------------------------------------------
    def training_config(self, arch: Architecture) -> dict[str, Any]:
        """The candidate's training choices, defaults filled in.

        Parameters
        ----------
        arch : Architecture
            The candidate.

        Returns
        -------
        dict
            :data:`DEFAULT_TRAINING` updated by the space's ``training_config(arch)``.
        """
        chosen = self.search_space.training_config(arch)
        unknown = sorted(set(chosen) - set(DEFAULT_TRAINING))
        if unknown:
            raise ValueError(
                f"{type(self.search_space).__name__}.training_config returned unknown keys "
                f"{unknown}; known keys: {sorted(DEFAULT_TRAINING)}."
            )
        return {**DEFAULT_TRAINING, **chosen}

    def build_net(
        self,
        arch: Architecture,
        X_train: np.ndarray,
        y_train: np.ndarray,
        *,
        seed: int,
        max_epochs: int,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        trial: Any = None,
        deadline: float | None = None,
        final: bool = False,
        sample_weight: np.ndarray | None = None,
        valid_sample_weight: np.ndarray | None = None,
    ) -> Any:
        """Build (not fit) the skorch net of ``arch`` for the given training data.

        Raises :class:`~sknas.evaluation.callbacks.ParameterLimitExceeded` when
        the module has more than ``max_parameters`` parameters; ``deadline``
        (a ``time.perf_counter()`` value) stops training after the epoch in
        which it passes.

        Parameters
        ----------
        arch : Architecture
            The candidate.
        X_train : numpy.ndarray
            Training inputs (their moments standardise the network's inputs).
        y_train : numpy.ndarray
            Training targets.
        seed : int
            Seed of the batch order (the caller seeds the initial weights).
        max_epochs : int
            Most epochs of training.
        valid : tuple of (numpy.ndarray, numpy.ndarray), optional
            Validation data scored after every epoch (early stopping, pruning).
        trial : optuna.Trial, optional
            Trial to which every epoch's validation score is reported.
        deadline : float, optional
            ``time.perf_counter()`` value after which training stops.
        final : bool, default=False
            Build the refit network (the space's ``for_refit()`` network; the
            ``max_parameters`` limit of candidates does not apply).
        sample_weight : numpy.ndarray, optional
            Weights of the training rows: they weight the input (and target)
            statistics, and the net, fitted on :func:`weighted_input`, weights
            each row's loss.
        valid_sample_weight : numpy.ndarray, optional
            Weights of the validation rows: the validation loss and score are weighted.

        Returns
        -------
        skorch.NeuralNet
            The (unfitted) net.
        """
        from skorch.callbacks import EpochScoring
        from skorch.dataset import Dataset
        from skorch.helper import predefined_split

        from sknas.evaluation._loader import BatchSlicingLoader, ShuffleRNG
        from sknas.evaluation._nets import weighted_input
        from sknas.evaluation.callbacks import (
            CandidateTimeout,
            DivergenceGuard,
            EarlyStopping,
            TrialReporter,
            check_parameter_count,
        )

        config = self.training_config(arch)
        n_features = X_train.shape[1]
        space = self.search_space.for_refit() if final else self.search_space
        inner = space.build_module(arch, n_features, self.n_outputs)
        if not final:
            check_parameter_count(inner, self.max_parameters)
        y_moments = (
            None if self.task == "classification" else _moments(y_train, sample_weight)
        )
        x_moments = _moments(X_train, sample_weight)
        module = self._standardized(inner, n_features, x_moments, y_moments)
        net_class, kwargs = self._net_class_and_kwargs(
            None if y_moments is None else y_moments[1],
            weighted=sample_weight is not None or valid_sample_weight is not None,
            label_smoothing=float(config["label_smoothing"]),
        )
        optimizer, optimizer_kwargs = _optimizer_class(config["optimizer"])
        for name, value in optimizer_kwargs.items():
            kwargs[f"optimizer__{name}"] = value
        batch_size = effective_batch_size(int(config["batch_size"]), len(X_train))
        callbacks: list[Any] = [("divergence", DivergenceGuard())]
        if float(config["grad_clip"]) > 0:
            from skorch.callbacks import GradientNormClipping

            callbacks.append(
                ("grad_clip", GradientNormClipping(gradient_clip_value=float(config["grad_clip"])))
            )
        if valid is not None:
            X_valid, y_valid = valid
            kwargs["train_split"] = predefined_split(
                Dataset(weighted_input(X_valid, valid_sample_weight), y_valid)
            )
            scorer = self.scorer
            if valid_sample_weight is not None:
                scorer = partial(self.scorer, sample_weight=valid_sample_weight)
            callbacks += [
                (
                    "valid_score",
                    EpochScoring(scorer, lower_is_better=False, name="valid_score"),
                ),
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_score",
                        patience=patience_epochs(
                            self.patience, int(config["patience_steps"]), len(X_train), batch_size
                        ),
                        lower_is_better=False,
                        threshold=1e-4,
                        load_best=True,
                    ),
                ),
            ]
            if trial is not None:
                callbacks.append(("trial_reporter", TrialReporter(trial)))
        else:
            kwargs["train_split"] = None
        callbacks += self._user_callbacks()
        if deadline is not None:
            # Last, so that the epoch's score is recorded (and reported) before it stops.
            callbacks.append(("candidate_timeout", CandidateTimeout(deadline)))
        return net_class(
            module=module,
            optimizer=optimizer,
            lr=config["lr"],
            optimizer__weight_decay=config["weight_decay"],
            batch_size=batch_size,
            max_epochs=max_epochs,
            iterator_train=BatchSlicingLoader,
            iterator_train__shuffle=True,
            iterator_train__rng=ShuffleRNG(seed),
            iterator_train__drop_last=len(X_train) > batch_size,
            iterator_valid=BatchSlicingLoader,
            iterator_valid__batch_size=1024,
            callbacks=callbacks,
            device=self.device,
            verbose=0,
            **kwargs,
        )

    def _user_callbacks(self) -> list[tuple[str, Any]]:
        """Fresh copies of the user's skorch callbacks, named uniquely."""
        named = []
        for index, callback in enumerate(self.callbacks):
            named.append((f"user_{index}_{type(callback).__name__}", copy.deepcopy(callback)))
        return named

    def _standardized(
        self, inner: Any, n_features: int, x_moments: Any = (None, None), y_moments: Any = None
    ) -> Any:
        """``inner`` inside the input scaling and, for regression, the target scaling.

        Statistics left out are neutral (mean 0, scale 1): loading a fitted
        ``state_dict`` sets them.
        """
        from sknas.evaluation._modules import StandardizedModule

        if self.task == "classification":
            return StandardizedModule(inner, n_features, self.n_outputs, *x_moments)
        if y_moments is None:
            y_moments = np.zeros(self.n_outputs), np.ones(self.n_outputs)
        return StandardizedModule(inner, n_features, self.n_outputs, *x_moments, *y_moments)

    def _net_class_and_kwargs(
        self, y_scale: Any = None, *, weighted: bool = False, label_smoothing: float = 0.0
    ) -> tuple[Any, dict[str, Any]]:
        """The skorch class of the task and its criterion settings.

        With ``weighted``, the criterion returns each row's loss and the net
        averages them with the rows' sample weights. ``label_smoothing``
        applies to the classification loss only.
        """
        from sknas.evaluation._modules import StandardizedMSELoss
        from sknas.evaluation._nets import SkorchClassifier, SkorchRegressor

        # verbose=0: skorch's PrintLog would still format a table every epoch.
        kwargs: dict[str, Any] = {"callbacks__print_log": None}
        if weighted:
            kwargs["criterion__reduction"] = "none"
        if self.task == "classification":
            kwargs["criterion"] = _cross_entropy()
            if label_smoothing > 0:
                kwargs["criterion__label_smoothing"] = label_smoothing
            kwargs["classes"] = list(range(self.n_outputs))
            # skorch's default ``valid_acc`` would score the validation data a second
            # time every epoch; ``valid_score`` already does.
            kwargs["callbacks__valid_acc"] = None
            return SkorchClassifier, kwargs
        kwargs["criterion"] = StandardizedMSELoss
        if y_scale is not None:
            kwargs["criterion__scale"] = y_scale
        return SkorchRegressor, kwargs

    def inference_module(self, arch: Architecture, n_features: int) -> Any:
        """The refit module (:meth:`fit_final`'s), with neutral scaling statistics.

        The network of the space's ``for_refit()`` inside the input and target
        scaling; loading a fitted ``state_dict`` sets the statistics. Built under
        ``torch.device("meta")`` it has every shape and no memory.

        Parameters
        ----------
        arch : Architecture
            The network's architecture.
        n_features : int
            Width of the encoded input rows.

        Returns
        -------
        torch.nn.Module
        """
        inner = self.search_space.for_refit().build_module(arch, n_features, self.n_outputs)
        return self._standardized(inner, n_features)

    def inference_net(self, module: Any) -> Any:
        """An initialised skorch net around ``module`` (from :meth:`inference_module`), on the CPU.

        Parameters
        ----------
        module : torch.nn.Module
            The network, its weights loaded.

        Returns
        -------
        skorch net
            A :class:`skorch.NeuralNetClassifier` or ``NeuralNetRegressor`` that
            predicts with ``module``.
        """
        from sknas.evaluation._loader import BatchSlicingLoader

        net_class, kwargs = self._net_class_and_kwargs()
        net = net_class(
            module=module, train_split=None, iterator_valid=BatchSlicingLoader,
            iterator_valid__batch_size=1024, device="cpu", verbose=0, **kwargs,
        )
        return net.initialize()

    # -- running -------------------------------------------------------------------
    @contextmanager
    def _seeded(self, seed: int) -> Iterator[None]:
        """Seed torch for the block (weights, dropout) without touching global RNG state."""
        import torch

        devices = [torch.device(self.device).index or 0] if "cuda" in str(self.device) else []
        with torch_threads(self.n_threads), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    def evaluate(
        self,
        arch: Architecture,
        X: np.ndarray,
        y: np.ndarray,
        trial: Any = None,
        *,
        seed: int,
        sample_weight: np.ndarray | None = None,
    ) -> EvaluationResult:
        """Train ``arch`` on each split's training part and score its validation part.

        Parameters
        ----------
        arch : Architecture
            The candidate.
        X : ndarray of shape (n_samples, n_features), float32
            Inputs.
        y : ndarray
            Encoded targets (int64 class indices, or float64 of shape (n, n_outputs),
            in the user's units: the network de-standardises its output in float64).
        trial : optuna.Trial, optional
            Receives the first split's validation score after every epoch, so
            pruners can stop bad learning curves (raises ``optuna.TrialPruned``).
        seed : int
            Seed of weight initialisation, dropout and shuffling.
        sample_weight : ndarray of shape (n_samples,), optional
            Weight of each row in the training loss, the validation loss and
            the validation score of every split.

        Returns
        -------
        EvaluationResult

        Raises
        ------
        optuna.TrialPruned
            When the pruner stops the candidate, or when it has more than
            ``max_parameters`` parameters (the reason is then set as the trial's
            ``fail_reason`` user attribute, and nothing is trained).
        CandidateOutOfMemoryError
            When training runs out of memory (what it held is freed first).
        """
        import optuna

        from sknas._search import FAIL_REASON_ATTR
        from sknas.evaluation.callbacks import ParameterLimitExceeded
        from sknas.utils.memory import release_on_oom

        start = time.perf_counter()
        deadline = None if self.candidate_timeout is None else start + self.candidate_timeout
        if self.search_deadline is not None:
            # The search's own timeout also ends the candidate in progress (after
            # its current epoch), which is then scored on its best epoch so far.
            search_end = start + max(0.0, self.search_deadline - time.time())
            deadline = search_end if deadline is None else min(deadline, search_end)
        scores: list[float] = []
        best_epochs: list[int] = []
        losses: list[float] = []
        predictions: list[np.ndarray] = []
        n_parameters = 0
        timed_out = False
        trained_epochs = 0
        start_from = self._warm_start(arch, trial)
        modules: list[Any] = []
        for index, (train, valid) in enumerate(self.splits):
            try:
                with release_on_oom(self.device):
                    history, n_parameters, module, output = self._train_split(
                        arch, X, y, train, valid, seed=seed + index,
                        sample_weight=sample_weight,
                        trial=trial if index == 0 else None, deadline=deadline,
                        inherited=None if start_from is None else start_from.modules[index],
                        max_epochs=None if start_from is None
                        else min(start_from.max_epochs, self.max_epochs),
                    )
            except ParameterLimitExceeded as exc:
                if trial is not None:
                    trial.set_user_attr(FAIL_REASON_ATTR, str(exc))
                    trial.set_user_attr("n_parameters", exc.n_parameters)
                raise optuna.TrialPruned(str(exc)) from None
            trained_epochs += len(history)
            timed_out = timed_out or bool(history[-1].get("candidate_timeout", False))
            best, loss = _best_epoch(history)
            scores.append(float(history[best]["valid_score"]))
            losses.append(loss)
            best_epochs.append(best + 1 + (0 if start_from is None else start_from.epochs[index]))
            modules.append(module)
            if output is not None:
                predictions.append(output)
        if timed_out and trial is not None:
            trial.set_user_attr("candidate_timed_out", True)
        if trial is not None and wants_weights(trial):
            self._weights.put(
                study_identity(trial.study), trial.number, arch, float(np.mean(scores)),
                [module.cpu() for module in modules], best_epochs,
            )
        return EvaluationResult(
            score=float(np.mean(scores)),
            split_scores=scores,
            best_epochs=best_epochs,
            n_parameters=int(n_parameters),
            fit_time=time.perf_counter() - start,
            trained_epochs=trained_epochs,
            timed_out=timed_out,
            valid_loss=float(np.mean(losses)),
            predictions=predictions if self.keep_predictions else None,
        )

    def _warm_start(self, arch: Architecture, trial: Any) -> InheritedStart | None:
        """The inherited start of a morphism child (None: train from scratch).

        A trial whose sampler recorded a morphism plan starts from its parent's
        trained modules, transformed by the recorded operators, when this
        process kept them; otherwise it trains from scratch. The user
        attributes ``morphism_parent``, ``morphisms`` and ``warm_start`` say which.
        """
        if trial is None or not wants_weights(trial):
            return None
        plan = plan_of(trial)
        if plan is None:
            return None
        trial.set_user_attr("morphism_parent", int(plan["parent"]))
        trial.set_user_attr("morphisms", [str(step["op"]) for step in plan["steps"]])
        start = self._weights.start(self.search_space, study_identity(trial.study), arch, plan)
        if isinstance(start, str) or len(start.modules) != len(self.splits):
            trial.set_user_attr("warm_start", start if isinstance(start, str) else "scratch")
            return None
        trial.set_user_attr("warm_start", "inherited")
        return start

    def _train_split(
        self,
        arch: Architecture,
        X: np.ndarray,
        y: np.ndarray,
        train: np.ndarray,
        valid: np.ndarray,
        *,
        seed: int,
        trial: Any,
        deadline: float | None,
        inherited: Any = None,
        max_epochs: int | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> tuple[Any, int, Any, np.ndarray | None]:
        """Train on one split; return the history, parameter count, network and held-out output.

        The output (``predict_proba``, or ``predict`` for regression, on the
        validation rows at the restored best epoch) is None unless
        ``keep_predictions``.

        ``inherited`` (a network of ``arch``) replaces the freshly built one,
        trained for at most ``max_epochs``. The net lives only in this frame, so
        when training fails (e.g. out of memory) clearing the traceback's frames
        releases it.
        """
        from sknas.evaluation._nets import weighted_input

        w_train = None if sample_weight is None else sample_weight[train]
        with self._seeded(seed):
            net = self.build_net(
                arch,
                X[train],
                y[train],
                seed=seed,
                max_epochs=self.max_epochs if max_epochs is None else max_epochs,
                valid=(X[valid], y[valid]),
                trial=trial,
                deadline=deadline,
                sample_weight=w_train,
                valid_sample_weight=None if sample_weight is None else sample_weight[valid],
            )
            inputs = weighted_input(X[train], w_train)
            if inherited is None:
                net.fit(inputs, y[train])
            else:
                net.initialize()
                net.module_.inner = inherited.to(self.device)
                net.initialize_optimizer()
                net.partial_fit(inputs, y[train])
            output = None
            if self.keep_predictions:
                method = net.predict_proba if self.task == "classification" else net.predict
                output = np.asarray(method(X[valid]), dtype=np.float64)
                output = output.reshape(len(valid), -1)
        inner = net.module_.inner
        return net.history, int(sum(p.numel() for p in inner.parameters())), inner, output

    def fit_final(
        self,
        arch: Architecture,
        X: np.ndarray,
        y: np.ndarray,
        *,
        n_epochs: int,
        seed: int,
        sample_weight: np.ndarray | None = None,
    ) -> Any:
        """Train ``arch`` on all of ``X`` for ``n_epochs`` epochs and return the skorch net.

        On the CPU the returned network computes in double precision, so that
        each prediction depends only on its own row.

        Parameters
        ----------
        arch : Architecture
            The architecture to train.
        X : numpy.ndarray
            All the training inputs.
        y : numpy.ndarray
            All the training targets.
        n_epochs : int
            Epochs of training (at least 1).
        seed : int
            Seed of the initial weights and of the batch order.
        sample_weight : numpy.ndarray, optional
            Weight of each row in the loss.

        Returns
        -------
        skorch.NeuralNet
            The fitted net.
        """
        from sknas.evaluation._nets import weighted_input
        from sknas.utils.memory import release_on_oom

        with release_on_oom(self.device, "refitting the best candidate"), self._seeded(seed):
            net = self.build_net(
                arch, X, y, seed=seed, max_epochs=max(1, int(n_epochs)), final=True,
                sample_weight=sample_weight,
            )
            net.fit(weighted_input(X, sample_weight), y)
        if str(self.device) == "cpu":
            # Predict in double precision: float32 matrix products round differently
            # with the batch's size and layout, so a row's prediction could depend on
            # which other rows are predicted with it.
            net.module_.double()
        return net


#: Fewest optimisation steps per epoch: on small data the batch size shrinks to keep them.
MIN_STEPS_PER_EPOCH = 8


def effective_batch_size(batch_size: int, n_rows: int) -> int:
    """The batch size used on ``n_rows`` training rows.

    At most the searched ``batch_size``, and small enough that an epoch takes at
    least :data:`MIN_STEPS_PER_EPOCH` steps (but never below 8 rows): with
    batch 128 on 100 rows an epoch would be a single step, and ``max_epochs``
    would allow too few updates to train anything.
    """
    cap = max(8, n_rows // MIN_STEPS_PER_EPOCH)
    return int(max(1, min(batch_size, cap, n_rows)))


def patience_epochs(patience: int, patience_steps: int, n_rows: int, batch_size: int) -> int:
    """Early stopping's patience in epochs: ``patience``, or more to span ``patience_steps`` steps.

    Parameters
    ----------
    patience : int
        Patience in epochs (the estimator's ``patience``).
    patience_steps : int
        Fewest optimisation steps without improvement before stopping (0: none).
    n_rows : int
        Training rows.
    batch_size : int
        Rows per step (:func:`effective_batch_size`); the last incomplete batch
        is dropped when there is more than one batch.

    Returns
    -------
    int

    Examples
    --------
    >>> patience_epochs(10, 400, n_rows=32, batch_size=8)
    100
    >>> patience_epochs(10, 400, n_rows=10_000, batch_size=128)
    10
    """
    steps = max(1, n_rows // batch_size if n_rows > batch_size else 1)
    return max(int(patience), math.ceil(int(patience_steps) / steps))


def _best_epoch(history: Any) -> tuple[int, float]:
    """Index of the epoch with the best validation score, ties broken by validation loss."""
    scores = np.asarray(history[:, "valid_score"], dtype=float)
    losses = np.asarray(history[:, "valid_loss"], dtype=float)
    if not np.isfinite(scores).any():
        return 0, float("nan")
    tied = np.flatnonzero(scores == np.nanmax(scores))
    finite = tied[np.isfinite(losses[tied])]
    best = int(finite[np.argmin(losses[finite])]) if len(finite) else int(tied[0])
    return best, float(losses[best])


def _cross_entropy() -> Any:
    import torch

    return torch.nn.CrossEntropyLoss
