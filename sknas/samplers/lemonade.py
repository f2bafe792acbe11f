"""LEMONADE: Lamarckian evolution over a Pareto front (Elsken, Metzen & Hutter, ICLR 2019)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sknas.samplers._base import _check_int, unseen
from sknas.samplers._pareto import ParetoHistory, ParetoSamplerBase, density_weights

if TYPE_CHECKING:  # pragma: no cover
    from sknas.samplers._base import Domain
    from sknas.spaces.base import SearchSpace

__all__ = ["LemonadeSampler"]


class LemonadeSampler(ParetoSamplerBase):
    """LEMONADE's multi-objective evolution, one proposal per trial.

    The population is the Pareto front of the feasible, completed trials (all
    objectives). For each proposal:

    1. parents are drawn from the front with probability inversely
       proportional to a kernel density of their *cheap objective* (by default
       the study's last objective: latency, parameters or FLOPs), so sparse
       regions of the front are explored first;
    2. each parent makes a child: an architectural change (the search space's
       ``mutate``: one NAS-Bench-201 edge, one MLP layer, which covers
       LEMONADE's network morphisms and its approximate, shrinking morphisms);
    3. the second density filter picks one of the ``n_children`` unseen
       children, again with probability inversely proportional to the density
       of the front's cheap objective at the child's predicted cheap
       objective. The prediction is a ridge regression of the (log) cheap
       objective on the children's encoding, fitted to the evaluated trials:
       in the estimators the cost is measured before training, on a table it
       is learned from the queries.

    Weights are inherited by the training evaluator when the estimator's
    search space has morphism operators and the ``"morphism"`` strategy
    records a plan; LEMONADE's proposals are trained from scratch (on a
    table nothing is trained). The population is rebuilt from the study's
    trials at every proposal, so the sampler works across processes and on
    resume. In a single-objective study the front is the best trial and the
    sampler is a hill climber.

    Parameters
    ----------
    n_children : int, default=32
        Children generated per proposal before the second filter.
    cheap_objective : int, default=-1
        Index of the cheap objective among the study's values.
    greedy : bool, default=True
        If True the second filter takes the child of lowest density (ties at
        random) instead of drawing one; it fills the front's gaps faster on a
        small budget.
    n_startup_trials : int, default=10
        Random proposals first.
    seed : int, optional
        Seed of every random choice.
    search_space : SearchSpace, optional
        Architecture-aware mutation and encoding.

    Examples
    --------
    >>> import optuna
    >>> study = optuna.create_study(
    ...     directions=["minimize", "minimize"], sampler=LemonadeSampler(seed=0))
    >>> study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1)),
    ...                n_trials=15)
    >>> len(study.best_trials) > 0
    True
    """

    def __init__(
        self,
        *,
        n_children: int = 32,
        cheap_objective: int = -1,
        greedy: bool = True,
        n_startup_trials: int = 10,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._n_children = _check_int("n_children", n_children, 1)
        if not isinstance(cheap_objective, (int, np.integer)) or isinstance(cheap_objective, bool):
            raise ValueError(f"cheap_objective must be an int index; got {cheap_objective!r}.")
        self._cheap = int(cheap_objective)
        self._greedy = bool(greedy)
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, search_space=search_space)

    def _cheap_values(self, history: ParetoHistory) -> np.ndarray:
        column = history.losses[:, self._cheap]
        return np.log(column) if np.all(column > 0) else column

    def _choose(
        self, domain: Domain, history: ParetoHistory, rng: np.random.Generator, seed: int
    ) -> dict[str, Any]:
        front = history.front()
        cheap = self._cheap_values(history)
        parent_weights = density_weights(cheap[front], cheap[front])
        candidates: list[dict[str, Any]] = []
        for _ in range(4 * self._n_children):
            parent = history.params[int(rng.choice(front, p=parent_weights))]
            candidates.append(domain.mutate(parent, rng))
            candidates = unseen(domain, candidates, history.seen)
            if len(candidates) >= self._n_children:
                break
        if not candidates:
            return domain.sample(rng)
        predicted = self._predict_cheap(domain, history, cheap, candidates)
        weights = density_weights(cheap[front], predicted)
        if self._greedy:
            best = np.flatnonzero(weights >= weights.max() * (1 - 1e-9))
            return candidates[int(rng.choice(best))]
        return candidates[int(rng.choice(len(candidates), p=weights))]

    @staticmethod
    def _predict_cheap(
        domain: Domain, history: ParetoHistory, cheap: np.ndarray, candidates: list[dict]
    ) -> np.ndarray:
        from sklearn.linear_model import Ridge

        X = domain.encode_many(history.params)
        model = Ridge(alpha=1.0).fit(X, cheap)
        return np.asarray(model.predict(domain.encode_many(candidates)), dtype=float)

