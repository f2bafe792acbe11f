"""What multi-objective strategies know of a study: evaluated points as losses, the front."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from sknas._optuna_compat import cached_trials, pareto_mask
from sknas.samplers._base import NASSamplerBase, _native

if TYPE_CHECKING:  # pragma: no cover
    from optuna.distributions import BaseDistribution
    from optuna.study import Study

    from sknas.samplers._base import Domain

__all__ = [
    "ParetoHistory", "ParetoSamplerBase", "pareto_history", "density_weights", "model_targets",
]


@dataclass
class ParetoHistory:
    """Finished trials of a (multi-objective) study, all objectives as losses.

    Attributes
    ----------
    params : list of dict
        Parameters of the complete, feasible trials with finite values.
    losses : numpy.ndarray of shape (n, n_objectives)
        Their values, negated where the study maximises (smaller is better).
    seen : set
        Keys of every finished or running trial.
    """

    params: list[dict[str, Any]]
    losses: np.ndarray
    seen: set[Hashable]

    def __len__(self) -> int:
        return len(self.params)

    def front(self) -> np.ndarray:
        """Indices of the non-dominated points (one per distinct loss vector)."""
        if len(self) == 0:
            return np.zeros(0, dtype=int)
        _, first = np.unique(self.losses, axis=0, return_index=True)
        first = np.sort(first)
        return first[pareto_mask(self.losses[first])]


def _feasible(trial: FrozenTrial) -> bool:
    constraints = getattr(trial, "constraints", None) or {}
    values = list(constraints.values()) or list(trial.system_attrs.get("constraints") or [])
    return all(v <= 0 for v in values)


def pareto_history(study: Study, trial: FrozenTrial, domain: Domain) -> ParetoHistory:
    """Read the study's trials for one proposal (infeasible trials leave the population)."""
    signs = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in study.directions])
    params: list[dict[str, Any]] = []
    losses: list[np.ndarray] = []
    seen: set[Hashable] = set()
    for other in cached_trials(study):
        if other.number == trial.number or not domain.valid(other.params):
            continue
        if other.state == TrialState.WAITING:
            continue
        values = domain.restrict(other.params)
        seen.add(domain.key(values))
        if other.state != TrialState.COMPLETE or not other.values:
            continue
        if not all(math.isfinite(v) for v in other.values) or not _feasible(other):
            continue
        params.append(values)
        losses.append(signs * np.asarray(other.values, dtype=float))
    matrix = np.asarray(losses, dtype=float).reshape(len(losses), len(signs))
    return ParetoHistory(params, matrix, seen)


def model_targets(losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Losses on the scale surrogates fit: the log of positive costs (not of the score).

    Parameters
    ----------
    losses : numpy.ndarray of shape (n, n_objectives)
        The score's loss first, then the costs.

    Returns
    -------
    targets : numpy.ndarray of shape (n, n_objectives)
    logged : numpy.ndarray of bool, shape (n_objectives,)
        Which columns are on a log scale.
    """
    logged = np.array([j > 0 and bool(np.all(losses[:, j] > 0)) for j in range(losses.shape[1])])
    targets = np.array(losses, dtype=float, copy=True)
    targets[:, logged] = np.log(losses[:, logged])
    return targets, logged


def density_weights(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Weights inversely proportional to a kernel density of ``reference``, at ``points``.

    LEMONADE's rule: a point where few reference points lie (a sparse region of
    the cheap objective) is likely to be drawn. The density is a Gaussian
    kernel density estimate (``scipy.stats.gaussian_kde``, Scott's bandwidth);
    with fewer than two distinct reference values every point weighs the same.

    Parameters
    ----------
    reference : numpy.ndarray of shape (n,)
        Values that define the density.
    points : numpy.ndarray of shape (m,)
        Where to weigh.

    Returns
    -------
    numpy.ndarray of shape (m,)
        Positive weights summing to 1.
    """
    from scipy.stats import gaussian_kde

    points = np.asarray(points, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if len(points) == 0:
        return points
    weights = np.ones(len(points))
    if len(np.unique(reference)) >= 2:
        try:
            density = gaussian_kde(reference)(points)
            weights = 1.0 / np.maximum(density, 1e-12)
        except np.linalg.LinAlgError:
            pass
    return weights / weights.sum()


class ParetoSamplerBase(NASSamplerBase):
    """Base of the strategies that search multi-objective studies (single-objective too).

    Subclasses implement ``_choose(domain, history, rng, seed)`` on a
    :class:`ParetoHistory`; the first ``n_startup_trials`` proposals are random.
    """

    @staticmethod
    def _check_single_objective(study: Study) -> None:
        return None  # single- and multi-objective studies alike

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Propose a value for every parameter of ``search_space``."""
        if not search_space:
            return {}
        domain = self._domain(search_space)
        history = pareto_history(study, trial, domain)
        if len(history) < max(self._n_startup_trials, 2):
            return {
                name: self._random_sampler.sample_independent(study, trial, name, dist)
                for name, dist in search_space.items()
            }
        params = self._choose(domain, history, self._trial_rng(trial), self._trial_seed(trial))
        return {name: _native(search_space[name], params[name]) for name in search_space}

    def _choose(
        self, domain: Domain, history: ParetoHistory, rng: np.random.Generator, seed: int
    ) -> dict[str, Any]:
        raise NotImplementedError
