"""A search as a self-contained job that any process or machine can work on.

A :class:`SearchJob` holds everything a worker needs (the estimator's
configuration, the checked data, the splits and the seeds). The estimator runs
it in its own process; with ``n_jobs > 1`` local worker processes receive it
directly, and ``sknas worker`` fetches it from the study's storage to join
from another machine: there it travels as data only (arrays and JSON, see
:func:`publish_job`), never as a pickle. Workers share only the Optuna study.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import json
import os
import socket
import time
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from sknas._search import SearchOutcome, run_search
from sknas.estimators._budget import RefitReserve
from sknas.estimators._ensemble import PREDICTIONS_ATTR, encode_predictions, splits_digest
from sknas.estimators._objectives import (
    COSTS_ATTR,
    CostConstraints,
    SearchObjectives,
    make_search_sampler,
)
from sknas.oneshot import is_oneshot
from sknas.spaces._description import describe_space, rebuild_space
from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sknas.estimators.base import BaseNAS

__all__ = [
    "SearchJob",
    "trial_seed",
    "publish_job",
    "fetch_job",
    "job_config",
    "JobPayloadError",
    "WORKER_ATTR",
]

#: Study user attributes of a published job: JSON configuration, array chunks,
#: and the reason a job could not be published.
CONFIG_ATTR = "sknas:job:config"
ARRAYS_ATTR = "sknas:job:arrays"
UNSHAREABLE_ATTR = "sknas:job:unshareable"
WORKER_ATTR = "worker"
_CHUNK = 1_000_000


def trial_seed(base_seed: int, trial_number: int) -> int:
    """Seed of one trial's training, the same in every process."""
    return int(np.random.SeedSequence([base_seed, trial_number]).generate_state(1)[0] >> 1)


def worker_id() -> str:
    """``host:pid`` of this process, recorded on every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class SearchJob:
    """Everything needed to evaluate candidates of one search.

    Attributes
    ----------
    estimator : BaseNAS
        An unfitted copy of the estimator: its parameters configure the search.
    search_space : SearchSpace
        The resolved search space (with the data's image shape, if any).
    X : ndarray of shape (n_samples, n_features), float32
        Checked training inputs.
    y : ndarray
        Encoded targets.
    n_outputs : int
        Classes or targets.
    splits : list of (train, valid) index arrays
        How candidates are scored.
    sampler_seed, train_seed : int
        Seeds of the sampler (offset per worker) and of every trial's training.
    device : str
        Resolved torch device.
    n_trials : int
        Trials the study should have in total.
    deadline : float, optional
        ``time.time()`` by which the fit should end (``timeout``); no trial
        starts after it.
    sample_weight : ndarray of shape (n_samples,), optional
        Positive weight of each row (None: unweighted).
    refit_networks : int, default=0
        Networks the refit will train after the search; with a ``deadline``,
        the search ends early enough to leave them time (see
        :class:`~sknas.estimators._budget.RefitReserve`).
    refit_reserve_max : float, default=0.0
        Most seconds the search keeps back for them.
    """

    estimator: BaseNAS
    search_space: SearchSpace
    X: np.ndarray
    y: np.ndarray
    n_outputs: int
    splits: list
    sampler_seed: int
    train_seed: int
    device: str
    n_trials: int
    deadline: float | None = None
    sample_weight: np.ndarray | None = None
    refit_networks: int = 0
    refit_reserve_max: float = 0.0

    def remaining_time(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.time())

    def run(
        self,
        study: optuna.Study,
        *,
        worker_index: int = 0,
        callbacks: list | None = None,
    ) -> SearchOutcome:
        """Work on ``study`` until it holds ``n_trials`` trials or the deadline passes.

        Parameters
        ----------
        study : optuna.Study
            The shared study (its sampler is replaced by this worker's own).
        worker_index : int, default=0
            Offsets the sampler's seed so that workers propose different candidates.
        callbacks : list of callable, optional
            Trial callbacks (progress bar).

        Returns
        -------
        SearchOutcome
        """
        estimator = self.estimator
        space = self.search_space
        evaluator = estimator._make_evaluator(
            space, self.n_outputs, self.splits, self.device, search_deadline=self.deadline
        )
        goals = SearchObjectives(estimator)
        constraints = CostConstraints(goals.constraints)
        width = int(self.X.shape[1])
        callbacks = list(callbacks or [])
        if self.deadline is not None and self.refit_networks > 0:
            callbacks.append(RefitReserve(
                self.deadline, self.refit_networks, self.refit_reserve_max, len(self.X),
                self.splits, evaluator,
            ))

        def deployed(arch: Architecture) -> Any:
            """The network as the refit returns it: scaling around it, float64 on a CPU."""
            module = evaluator.inference_module(arch, width)
            return module.double() if str(self.device) == "cpu" else module

        meter = goals.meter(space, width, self.n_outputs, self.device, build=deployed)
        oneshot = is_oneshot(estimator.strategy)
        study.sampler = optuna.samplers.RandomSampler(seed=self.sampler_seed) if oneshot else (
            make_search_sampler(
                estimator.strategy, seed=self.sampler_seed + worker_index, search_space=space,
                bounds=goals.constraints, n_objectives=len(goals.objectives),
            )
        )
        study.pruner = estimator._resolve_pruner(space)
        me = worker_id()
        X, y, train_seed, weights = self.X, self.y, self.train_seed, self.sample_weight
        digest = splits_digest(self.splits)

        def objective(trial: optuna.Trial, arch: Architecture) -> float | list[float]:
            costs = meter.measure(arch)
            if costs:
                trial.set_user_attr(COSTS_ATTR, costs)
                constraints.record(trial, costs)
            seed = trial_seed(train_seed, trial.number)
            trial.set_user_attr("seed", seed)
            trial.set_user_attr(WORKER_ATTR, me)
            result = evaluator.evaluate(arch, X, y, trial, seed=seed, sample_weight=weights)
            trial.set_user_attr("split_scores", result.split_scores)
            trial.set_user_attr("best_epochs", result.best_epochs)
            trial.set_user_attr("valid_loss", result.valid_loss)
            trial.set_user_attr("n_parameters", result.n_parameters)
            trial.set_user_attr("fit_time", result.fit_time)
            trial.set_user_attr("trained_epochs", result.trained_epochs)
            if result.predictions is not None:
                encoded = encode_predictions(result.predictions, estimator._task, digest)
                trial.set_user_attr(PREDICTIONS_ATTR, encoded)
            if not np.isfinite(result.score):
                raise ValueError(f"validation score is {result.score}")
            return goals.values(result.score, costs)

        error_score = estimator.error_score
        if oneshot:  # supernet search, then its derived architectures as trials
            from sknas.oneshot._estimator import run_oneshot

            return run_oneshot(
                self, study, objective, worker_index=worker_index, callbacks=callbacks,
                catch=not (isinstance(error_score, str) and error_score == "raise"),
            )
        return run_search(
            study,
            space,
            objective,
            n_trials=self.n_trials,
            max_study_trials=self.n_trials,
            timeout=self.remaining_time(),
            catch=not (isinstance(error_score, str) and error_score == "raise"),
            callbacks=callbacks,
        )


class JobPayloadError(ValueError):
    """The search job in a study's storage cannot be shared, or is malformed."""


#: Estimator classes a published job may name (``sknas worker`` builds nothing else).
ESTIMATORS: dict[str, str] = {
    "NASClassifier": "sknas.estimators.classifier:NASClassifier",
    "NASRegressor": "sknas.estimators.regressor:NASRegressor",
}
#: Estimator parameters a worker does not need: the job carries their outcome
#: (splits, seeds, the resolved space) or they concern only the fitting process.
_LOCAL_PARAMS = frozenset(
    {"storage", "study_name", "search_space", "cv", "refit", "random_state", "n_jobs", "verbose",
     "class_weight"}
)
_FORMAT = 1
#: Most bytes of decompressed arrays a worker accepts from a storage.
MAX_ARRAY_BYTES = 8 * 2**30


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def job_config(job: SearchJob) -> dict[str, Any]:
    """The JSON-representable configuration that workers rebuild ``job`` from.

    Parameters
    ----------
    job : SearchJob
        The search to describe.

    Returns
    -------
    dict

    Raises
    ------
    JobPayloadError
        When part of the configuration cannot travel as data (a sampler,
        pruner or scorer object, a search space with non-JSON parameters).
    """
    estimator = job.estimator
    cls = type(estimator)
    name = cls.__name__
    if ESTIMATORS.get(name) != f"{cls.__module__}:{cls.__qualname__}":
        raise JobPayloadError(f"the estimator class {cls.__qualname__} is not a sknas estimator")
    params = {
        key: value
        for key, value in estimator.get_params(deep=False).items()
        if key not in _LOCAL_PARAMS
    }
    objects = sorted(key for key, value in params.items() if not _is_plain(value))
    if objects:
        raise JobPayloadError(
            f"the parameters {objects} hold Python objects (a sampler, pruner or scorer "
            "instance, a callable), which workers do not unpickle; use their string names"
        )
    space = describe_space(job.search_space)
    if space["params"] is None:
        raise JobPayloadError(
            f"the search space {space['class']} has parameters that are not JSON-representable"
        )
    for key, array in (("X", job.X), ("y", job.y)):
        if np.asarray(array).dtype.hasobject:
            raise JobPayloadError(f"the training {key} holds Python objects")
    return {
        "format": _FORMAT,
        "estimator": name,
        "params": params,
        "search_space": space,
        "n_outputs": int(job.n_outputs),
        "sampler_seed": int(job.sampler_seed),
        "train_seed": int(job.train_seed),
        "device": str(job.device),
        "n_trials": int(job.n_trials),
        "deadline": None if job.deadline is None else float(job.deadline),
        "refit_networks": int(job.refit_networks),
        "refit_reserve_max": float(job.refit_reserve_max),
    }


def _pack_arrays(job: SearchJob) -> str:
    arrays = {"X": np.asarray(job.X), "y": np.asarray(job.y)}
    if job.sample_weight is not None:
        arrays["sample_weight"] = np.asarray(job.sample_weight, dtype=np.float64)
    for index, (train, valid) in enumerate(job.splits):
        arrays[f"train_{index}"] = np.asarray(train)
        arrays[f"valid_{index}"] = np.asarray(valid)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numeric arrays (job_config)
    return base64.b64encode(zlib.compress(buffer.getvalue(), 6)).decode("ascii")


def _unpack_arrays(blob: str) -> dict[str, np.ndarray]:
    inflater = zlib.decompressobj()
    raw = inflater.decompress(base64.b64decode(blob, validate=True), MAX_ARRAY_BYTES)
    if inflater.unconsumed_tail:
        raise JobPayloadError(f"its arrays exceed {MAX_ARRAY_BYTES} bytes")
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def publish_job(study: optuna.Study, job: SearchJob) -> bool:
    """Store ``job`` in the study's attributes so ``sknas worker`` can fetch it.

    The job travels as data only: its arrays (inputs, targets, splits) as a
    compressed ``numpy.savez`` archive split into text chunks, its
    configuration as JSON (see :func:`job_config`), so it goes through any
    Optuna storage and a worker never unpickles anything. A job that cannot
    travel as data is not published; the study records why instead, and
    ``sknas worker`` reports it.

    Parameters
    ----------
    study : optuna.Study
        The shared study.
    job : SearchJob
        The search to publish.

    Returns
    -------
    bool
        Whether the job was published.
    """
    try:
        config = job_config(job)
    except JobPayloadError as exc:
        study.set_user_attr(UNSHAREABLE_ATTR, str(exc))
        return False
    blob = _pack_arrays(job)
    chunks = [blob[i : i + _CHUNK] for i in range(0, len(blob), _CHUNK)] or [""]
    for index, chunk in enumerate(chunks):
        study.set_user_attr(f"{ARRAYS_ATTR}:{index}", chunk)
    study.set_user_attr(CONFIG_ATTR, json.dumps(config))
    study.set_user_attr(f"{ARRAYS_ATTR}:chunks", len(chunks))
    study.set_user_attr(UNSHAREABLE_ATTR, None)
    return True


def _int(config: dict[str, Any], key: str, low: int = 0, default: int | None = None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise JobPayloadError(f"{key!r} must be an integer >= {low}, got {value!r:.80}")
    return value


def _seconds(value: Any, key: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
        raise JobPayloadError(f"{key!r} must be a number >= 0, got {value!r:.80}")
    return float(value)


def _index_array(part: np.ndarray | None, n_rows: int) -> bool:
    return (
        part is not None
        and part.ndim == 1
        and part.dtype.kind in "iu"
        and (part.size == 0 or (int(part.min()) >= 0 and int(part.max()) < n_rows))
    )


def _build_job(
    config: Any, arrays: dict[str, np.ndarray], allowed_spaces: Collection[str]
) -> SearchJob:
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise JobPayloadError(f"unknown job format (this sknas reads format {_FORMAT})")
    name = config.get("estimator")
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise JobPayloadError(f"the estimator {name!r:.80} is not one of {sorted(ESTIMATORS)}")
    params = config.get("params")
    if not isinstance(params, dict) or not _is_plain(params) or _LOCAL_PARAMS & set(params):
        raise JobPayloadError("'params' must be a JSON object of the estimator's parameters")
    module_name, _, class_name = ESTIMATORS[name].partition(":")
    estimator = getattr(importlib.import_module(module_name), class_name)()
    try:
        estimator.set_params(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise JobPayloadError(f"invalid estimator parameters: {exc}") from exc
    try:
        space = rebuild_space(config.get("search_space"), allowed_classes=allowed_spaces)
    except ValueError as exc:
        hint = " (sknas worker --allow-space MODULE:CLASS allows a custom space)"
        raise JobPayloadError(f"{exc}{hint}") from exc
    X, y = arrays.get("X"), arrays.get("y")
    if X is None or y is None or X.ndim != 2 or y.ndim not in (1, 2) or len(y) != len(X):
        raise JobPayloadError("its arrays must hold a 2-D X and a y of the same length")
    splits = []
    for index in range(sum(key.startswith("train_") for key in arrays)):
        train, valid = arrays.get(f"train_{index}"), arrays.get(f"valid_{index}")
        if not (_index_array(train, len(X)) and _index_array(valid, len(X))):
            raise JobPayloadError(f"split {index} is not a pair of row-index arrays")
        splits.append((train, valid))
    if not splits:
        raise JobPayloadError("it holds no validation split")
    weights = arrays.get("sample_weight")
    if weights is not None and not (
        weights.ndim == 1
        and len(weights) == len(X)
        and weights.dtype.kind == "f"
        and bool(np.all(np.isfinite(weights)))
        and bool(np.all(weights > 0))
    ):
        raise JobPayloadError("its sample weights must be one positive number per row of X")
    deadline, device = config.get("deadline"), config.get("device")
    if deadline is not None and not isinstance(deadline, (int, float)):
        raise JobPayloadError(f"'deadline' must be a number, got {deadline!r:.80}")
    if not isinstance(device, str):
        raise JobPayloadError(f"'device' must be a string, got {device!r:.80}")
    return SearchJob(
        estimator=estimator,
        search_space=space,
        X=X,
        y=y,
        n_outputs=_int(config, "n_outputs", 1),
        splits=splits,
        sampler_seed=_int(config, "sampler_seed"),
        train_seed=_int(config, "train_seed"),
        device=device,
        n_trials=_int(config, "n_trials", 1),
        deadline=None if deadline is None else float(deadline),
        sample_weight=weights,
        refit_networks=_int(config, "refit_networks", default=0),
        refit_reserve_max=_seconds(config.get("refit_reserve_max", 0.0), "refit_reserve_max"),
    )


def fetch_job(study: optuna.Study, *, allowed_spaces: Collection[str] = ()) -> SearchJob | None:
    """The job published in ``study``, or None if none was published (yet).

    Nothing is unpickled: the arrays are read with ``allow_pickle=False`` and
    the configuration is JSON, checked field by field.

    Parameters
    ----------
    study : optuna.Study
        The shared study.
    allowed_spaces : collection of str, default=()
        ``module:Class`` names of custom search spaces the job may name.

    Returns
    -------
    SearchJob or None

    Raises
    ------
    JobPayloadError
        When the search cannot be shared (the reason recorded by the fitting
        process), or the published job is malformed or was tampered with.
    """
    attrs = study.user_attrs
    where = f"study {study.study_name!r}"
    reason = attrs.get(UNSHAREABLE_ATTR)
    if reason:
        raise JobPayloadError(
            f"The search in {where} cannot be shared with workers: {reason}. It runs only "
            "in the process that called fit (and its n_jobs workers)."
        )
    n_chunks, config_text = attrs.get(f"{ARRAYS_ATTR}:chunks"), attrs.get(CONFIG_ATTR)
    if n_chunks is None or config_text is None:
        return None
    try:
        if not isinstance(n_chunks, int) or not isinstance(config_text, str):
            raise JobPayloadError("its chunk count or configuration has the wrong type")
        blob = "".join(attrs[f"{ARRAYS_ATTR}:{i}"] for i in range(n_chunks))
        return _build_job(json.loads(config_text), _unpack_arrays(blob), allowed_spaces)
    except JobPayloadError as exc:
        raise JobPayloadError(f"The search job published in {where} is invalid: {exc}.") from exc
    except (ValueError, TypeError, KeyError, OSError, EOFError, zlib.error, binascii.Error,
            zipfile.BadZipFile) as exc:
        raise JobPayloadError(
            f"The search job published in {where} is malformed ({type(exc).__name__}: {exc})."
        ) from exc


def run_worker_process(
    spec: Any, study_name: str, job: SearchJob, worker_index: int, n_threads: int | None
) -> SearchOutcome:
    """Entry point of a local worker process started by ``n_jobs > 1``.

    Parameters
    ----------
    spec : StorageSpec
        Opens the shared storage.
    study_name : str
        The shared study.
    job : SearchJob
        The search to work on.
    worker_index : int
        Offsets the sampler's seed.
    n_threads : int, optional
        Torch threads for this process (the machine's cores divided by workers).
    """
    import torch

    from sknas.estimators._storage import open_study

    if n_threads is not None:
        torch.set_num_threads(n_threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(spec, study_name)
    return job.run(study, worker_index=worker_index)
