"""Regularized (aging) evolution, Real et al. (AAAI 2019)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sknas.samplers._base import Domain, History, NASSamplerBase, _check_int, draw_unseen

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from sknas.spaces.base import SearchSpace

__all__ = ["RegularizedEvolutionSampler"]


class RegularizedEvolutionSampler(NASSamplerBase):
    """Regularized evolution: tournament selection in an aging population.

    The population is the ``population_size`` most recent finished trials (by
    trial number), so the oldest member dies as each new one arrives. For each
    proposal, ``sample_size`` members are drawn at random without replacement,
    the best of them is the parent, and the child is a mutation of the parent
    (the search space's :meth:`~sknas.spaces.SearchSpace.mutate`, or one
    parameter re-drawn or perturbed without a space). A child whose key is
    already evaluated or running is re-drawn (up to ``max_retries`` times).

    The population is rebuilt from the study's trials at every proposal, so the
    sampler works with any storage, across processes and on resume.

    Parameters
    ----------
    population_size : int, default=20
        Number of most recent finished trials that form the population.
    sample_size : int, default=5
        Tournament size.
    n_startup_trials : int, optional
        Random trials before evolution starts (default 10); None means
        ``population_size``. Evolution starts on a partial population.
    max_retries : int, default=20
        Mutations tried to find a child not yet evaluated.
    seed : int, optional
        Seed of every random choice; the same seed and history give the same proposal.
    search_space : SearchSpace, optional
        Architecture-aware mutation (e.g. one NAS-Bench-201 edge).

    Examples
    --------
    >>> import optuna
    >>> sampler = RegularizedEvolutionSampler(population_size=8, sample_size=3, seed=0)
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(lambda t: t.suggest_int("x", 0, 20) ** 2, n_trials=20)
    >>> study.best_value <= 16
    True
    """

    def __init__(
        self,
        *,
        population_size: int = 20,
        sample_size: int = 5,
        n_startup_trials: int | None = 10,
        max_retries: int = 20,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._population_size = _check_int("population_size", population_size, 1)
        self._sample_size = _check_int("sample_size", sample_size, 1)
        if self._sample_size > self._population_size:
            raise ValueError(
                f"sample_size ({sample_size}) must not exceed population_size ({population_size})."
            )
        self._max_retries = _check_int("max_retries", max_retries, 0)
        super().__init__(
            seed=seed,
            n_startup_trials=population_size if n_startup_trials is None else n_startup_trials,
            search_space=search_space,
        )

    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        population = np.arange(len(history))[-self._population_size :]
        size = min(self._sample_size, len(population))
        contestants = rng.choice(population, size=size, replace=False)
        parent = history.params[int(max(contestants, key=lambda i: history.scores[i]))]
        return draw_unseen(
            lambda: domain.mutate(parent, rng), domain, history.seen, self._max_retries
        )
