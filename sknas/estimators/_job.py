"""A search as a self-contained job that any process or machine can work on.

A :class:`SearchJob` holds everything a worker needs (the estimator's
configuration, the checked data, the splits and the seeds). The estimator runs
it in its own process; with ``n_jobs > 1`` worker processes run it too, and
``sknas worker`` fetches it from the study's storage to join from another
machine. Workers share only the Optuna study.
"""

from __future__ import annotations

import base64
import os
import pickle
import socket
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from sknas._search import SearchOutcome, run_search
from sknas.samplers import make_sampler
from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from sknas.estimators.base import BaseNAS

__all__ = ["SearchJob", "trial_seed", "publish_job", "fetch_job", "WORKER_ATTR"]

PAYLOAD_ATTR = "sknas:job"
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
        ``time.time()`` after which no new trial starts.
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
        study.sampler = make_sampler(
            estimator.strategy, seed=self.sampler_seed + worker_index, search_space=space
        )
        study.pruner = estimator._resolve_pruner()
        me = worker_id()
        X, y, train_seed = self.X, self.y, self.train_seed

        def objective(trial: optuna.Trial, arch: Architecture) -> float:
            seed = trial_seed(train_seed, trial.number)
            trial.set_user_attr("seed", seed)
            trial.set_user_attr(WORKER_ATTR, me)
            result = evaluator.evaluate(arch, X, y, trial, seed=seed)
            trial.set_user_attr("split_scores", result.split_scores)
            trial.set_user_attr("best_epochs", result.best_epochs)
            trial.set_user_attr("valid_loss", result.valid_loss)
            trial.set_user_attr("n_parameters", result.n_parameters)
            trial.set_user_attr("fit_time", result.fit_time)
            if not np.isfinite(result.score):
                raise ValueError(f"validation score is {result.score}")
            return result.score

        error_score = estimator.error_score
        return run_search(
            study,
            space,
            objective,
            n_trials=self.n_trials,
            max_study_trials=self.n_trials,
            timeout=self.remaining_time(),
            catch=not (isinstance(error_score, str) and error_score == "raise"),
            callbacks=callbacks or [],
        )


def publish_job(study: optuna.Study, job: SearchJob) -> None:
    """Store ``job`` in the study's attributes so ``sknas worker`` can fetch it.

    The job is pickled, compressed and split into text chunks of study user
    attributes, so it travels through any Optuna storage (SQLite, PostgreSQL,
    journal file). Anyone who can write to the storage can make workers run
    code: use storages you trust.
    """
    blob = base64.b64encode(zlib.compress(pickle.dumps(job), 6)).decode("ascii")
    chunks = [blob[i : i + _CHUNK] for i in range(0, len(blob), _CHUNK)] or [""]
    for index, chunk in enumerate(chunks):
        study.set_user_attr(f"{PAYLOAD_ATTR}:{index}", chunk)
    study.set_user_attr(f"{PAYLOAD_ATTR}:chunks", len(chunks))


def fetch_job(study: optuna.Study) -> SearchJob | None:
    """The job published in ``study``, or None if none was published (yet)."""
    attrs = study.user_attrs
    n_chunks = attrs.get(f"{PAYLOAD_ATTR}:chunks")
    if n_chunks is None:
        return None
    blob = "".join(attrs[f"{PAYLOAD_ATTR}:{i}"] for i in range(int(n_chunks)))
    job = pickle.loads(zlib.decompress(base64.b64decode(blob)))
    if not isinstance(job, SearchJob):
        raise TypeError(f"The study holds a {type(job).__name__}, not a sknas SearchJob.")
    return job


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
