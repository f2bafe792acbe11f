"""Hypervolume-improvement search: model-based multi-objective search.

Each proposal fits one cheap surrogate per objective to the evaluated trials
(a ridge regression or a random forest, whichever predicts better out of
sample), then proposes the unseen candidate expected to add the most
hypervolume to the current Pareto front, the expectation taken over the
forest's trees. When the space is small enough to list (NAS-Bench-201's
15,625 cells), every unseen architecture is a candidate; otherwise the
candidates are the neighbours of the front's members (a multi-objective local
search around the front) and random architectures (a space-filling share).
This is the recipe of BANANAS and of local search with a predictor (White et
al., 2021), with expected hypervolume improvement (Emmerich et al., 2006) as
the acquisition, made cheap by random-forest surrogates (SMAC's model, Hutter
et al., 2011) and an exact two-objective improvement.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from sknas.samplers._base import _check_choice, _check_float, _check_floor, _check_int, unseen
from sknas.samplers._hvi_models import ENCODINGS, FullPool, Surrogate, encode, full_pool
from sknas.samplers._pareto import ParetoHistory, ParetoSamplerBase, model_targets
from sknas.samplers.neural_architect import hypervolume_improvement

if TYPE_CHECKING:  # pragma: no cover
    from sknas.samplers._base import Domain
    from sknas.spaces.base import SearchSpace

__all__ = ["HypervolumeImprovementSampler"]


class HypervolumeImprovementSampler(ParetoSamplerBase):
    """Multi-objective search guided by surrogates and expected hypervolume improvement.

    For each proposal:

    1. every objective gets a surrogate fitted to the evaluated trials: a
       ridge regression on the one-hot encoding or a random forest on the
       space's richer encodings (for NAS-Bench-201 cells the one-hot plus the
       ``"effective"`` cell, which ignores dead edges), whichever has the lower
       out-of-sample error (ridge's leave-one-out, the forest's out-of-bag
       error). Positive costs are modelled on a log scale;
    2. the candidates are every unseen architecture when the space lists
       itself (``all_architectures()``) in at most ``max_pool_size``
       architectures (one per isomorphism class), otherwise the unseen
       neighbours of the Pareto front's members and ``n_candidates`` random
       architectures (see ``candidate_pool``);
    3. the proposal is the candidate of largest acquisition, the hypervolume
       its predicted losses add to the front (reference: the median score and
       1.1 times the worst cost the space seems to reach): with
       ``acquisition="expected"`` the mean improvement over the forest's trees
       (each tree's deviation from the forest's mean added to the chosen
       model's prediction), with ``"optimistic"`` the improvement of the mean
       minus ``kappa`` times the trees' spread; when no candidate adds any,
       the one of best optimistic predicted score.

    Everything is rebuilt from the study's trials at each proposal, so the
    sampler works across processes and on resume; infeasible trials
    (constraints) leave the front. In a single-objective study the
    acquisition is the optimistic predicted score (mean minus ``kappa`` times
    the trees' spread).

    Parameters
    ----------
    n_candidates : int, default=200
        Random architectures added to the front's neighbours (the
        ``"neighbours"`` pool).
    kappa : float, default=1.0
        Weight of the forest's spread in the optimistic prediction (0: the
        mean only): the ``"optimistic"`` acquisition, the accurate-end
        proposals and single-objective studies.
    acquisition : {"expected", "optimistic"}, default="expected"
        ``"expected"``: expected hypervolume improvement over the forest's
        trees; ``"optimistic"``: the improvement of the optimistic prediction.
    candidate_pool : {"auto", "full", "neighbours"}, default="auto"
        ``"full"`` scores every unseen architecture of the space (needs a
        search space whose ``all_architectures()`` lists at most
        ``max_pool_size``; the features are computed once and kept by the
        sampler); ``"neighbours"`` the front's neighbours plus random
        architectures; ``"auto"`` is ``"full"`` when the space allows it.
    max_pool_size : int, default=20000
        Largest space scored completely.
    n_trees : int, default=32
        Trees of each forest.
    score_floor : {"median", None}, default="median"
        ``"median"`` fits the score's surrogate to the scores raised to their
        median (the hypervolume's reference: a worse score adds nothing), so
        the model spends itself on the better half and a few broken candidates
        do not set its scale; None fits the scores as they are.
    score_share : float, default=0.25
        Share of the proposals (drawn per trial) that take the candidate of
        best optimistic predicted score among the neighbours of the three best
        scores instead (a local search at the front's accurate end,
        whose small score gains the hypervolume undervalues while the
        surrogates are rough, and the point ``refit=True`` deploys). In the
        early phase (fewer than ``4 * n_startup_trials`` evaluated trials) the
        share is doubled (at most 1) and, with the whole-space pool, these
        proposals take the best optimistic predicted score of every unseen
        architecture, so that the accurate end is reached early.
    n_startup_trials : int, default=10
        Random proposals first.
    seed : int, optional
        Seed of every random choice.
    search_space : SearchSpace, optional
        Encodings, neighbours and sampling of architectures.

    Examples
    --------
    >>> import optuna
    >>> study = optuna.create_study(
    ...     directions=["maximize", "minimize"],
    ...     sampler=HypervolumeImprovementSampler(seed=0, n_startup_trials=5, n_trees=4))
    >>> study.optimize(
    ...     lambda t: (t.suggest_int("x", 0, 9), t.suggest_int("x", 0, 9) ** 2), n_trials=8)
    >>> len(study.best_trials) > 0
    True
    """

    def __init__(
        self,
        *,
        n_candidates: int = 200,
        kappa: float = 1.0,
        acquisition: str = "expected",
        candidate_pool: str = "auto",
        max_pool_size: int = 20000,
        n_trees: int = 32,
        score_floor: str | None = "median",
        score_share: float = 0.25,
        n_startup_trials: int = 10,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._n_candidates = _check_int("n_candidates", n_candidates, 0)
        self._kappa = _check_float("kappa", kappa)
        self._acquisition = _check_choice("acquisition", acquisition, ("expected", "optimistic"))
        self._candidate_pool = _check_choice(
            "candidate_pool", candidate_pool, ("auto", "full", "neighbours"))
        self._max_pool_size = _check_int("max_pool_size", max_pool_size, 1)
        self._n_trees = _check_int("n_trees", n_trees, 1)
        self._score_floor = _check_floor("score_floor", score_floor)
        self._score_share = _check_float("score_share", score_share)
        if self._score_share > 1:
            raise ValueError(f"score_share must lie in [0, 1]; got {score_share!r}.")
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, search_space=search_space)
        if self._candidate_pool == "full" and not self._enumerable(search_space):
            raise ValueError(
                f"candidate_pool='full' needs a search space whose all_architectures() lists "
                f"at most max_pool_size={self._max_pool_size} architectures; got "
                f"{type(search_space).__name__ if search_space is not None else None}."
            )

    def _enumerable(self, space: SearchSpace | None) -> bool:
        listed = space.all_architectures() if space is not None else None
        return listed is not None and sum(
            1 for _ in itertools.islice(listed, self._max_pool_size + 1)
        ) <= self._max_pool_size

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_full", None)  # a function of the space, rebuilt on demand
        state.pop("_cache", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("_acquisition", "optimistic")  # pickled before the option existed
        state.setdefault("_candidate_pool", "neighbours")
        state.setdefault("_max_pool_size", 20000)
        super().__setstate__(state)

    def _features(
        self, domain: Domain, params: list[dict[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ridge's and the forest's features of ``params`` (memoised per parameter set)."""
        cache: dict[Any, tuple[np.ndarray, np.ndarray]] = self.__dict__.setdefault("_cache", {})
        keys = [tuple(sorted((k, repr(v)) for k, v in p.items())) for p in params]
        missing = [i for i, k in enumerate(keys) if k not in cache]
        if missing:
            todo = [params[i] for i in missing]
            linear, forest = domain.encode_many(todo), encode(domain, todo, ENCODINGS)
            for row, i in enumerate(missing):
                cache[keys[i]] = (linear[row], forest[row])
        return (np.stack([cache[k][0] for k in keys]), np.stack([cache[k][1] for k in keys]))

    def _full_pool(self, domain: Domain) -> FullPool | None:
        """The enumerated space with its features, or None (the neighbour pool)."""
        if self._candidate_pool == "neighbours" or domain.space is None:
            return None
        cached: FullPool | None = self.__dict__.get("_full")
        if cached is None or cached.space is not domain.space:
            cached = full_pool(domain, self._max_pool_size, self._features)
            self.__dict__["_full"] = cached
            self.__dict__.pop("_cache", None)  # the pool holds the features now
        return cached if cached.params else None

    def _choose(
        self, domain: Domain, history: ParetoHistory, rng: np.random.Generator, seed: int
    ) -> dict[str, Any]:
        losses = history.losses
        early = len(losses) < 4 * self._n_startup_trials
        share = min(1.0, 2 * self._score_share) if early else self._score_share
        exploit = losses.shape[1] > 1 and rng.random() < share
        pool: list[dict[str, Any]] = []
        whole = None
        if exploit and early:
            whole = self._full_pool(domain)  # early on: the best score of the whole space
        if whole is not None:
            rows = whole.unseen(history.seen)
            pool = [whole.params[int(i)] for i in rows]
            pool_linear, pool_forest = whole.linear[rows], whole.forest[rows]
            whole = whole if pool else None
        if exploit and not pool:  # local search at the accurate end: around the best scores
            for index in np.argsort(losses[:, 0], kind="stable")[:3]:
                pool.extend(domain.neighbours(history.params[int(index)]))
            pool = unseen(domain, pool, history.seen)
        randoms: list[dict[str, Any]] = []
        full = None if pool else self._full_pool(domain)
        if whole is not None:
            full = whole
        elif full is not None:  # every unseen architecture of a small space
            exploit = False
            rows = full.unseen(history.seen)
            pool = [full.params[int(i)] for i in rows]
            pool_linear, pool_forest = full.linear[rows], full.forest[rows]
        elif not pool:
            exploit = False
            for index in history.front():
                pool.extend(domain.neighbours(history.params[int(index)]))
            randoms = [domain.sample(rng) for _ in range(self._n_candidates)]
            pool = unseen(domain, pool + randoms, history.seen)
        if not pool:
            return domain.sample(rng)
        if full is None:
            pool_linear, pool_forest = self._features(domain, pool + randoms)
        targets, logged = model_targets(losses)
        if self._score_floor == "median":  # worse than the median adds no hypervolume
            targets[:, 0] = np.minimum(targets[:, 0], np.median(targets[:, 0]))
        fit_linear, fit_forest = self._features(domain, history.params)
        if exploit or losses.shape[1] == 1:
            losses, logged, targets = losses[:, :1], logged[:1], targets[:, :1]
        # samples[t, i, j]: tree t's prediction of candidate i's loss j (model scale).
        samples = np.stack([
            Surrogate(self._n_trees, seed % 2**31)
            .fit(fit_linear, fit_forest, targets[:, j]).predict(pool_linear, pool_forest)
            for j in range(losses.shape[1])
        ], axis=-1)
        predicted = samples.mean(axis=0) - self._kappa * samples.std(axis=0)
        expected = samples.mean(axis=0)
        predicted[:, logged] = np.exp(predicted[:, logged])
        expected[:, logged] = np.exp(expected[:, logged])
        samples[..., logged] = np.exp(samples[..., logged])
        # The random architectures (also predicted), or every unseen one, stand for the space.
        space_like = expected if full is not None else (
            expected[len(pool):] if randoms else losses)
        predicted, samples = predicted[: len(pool)], samples[:, : len(pool)]
        if losses.shape[1] == 1:
            gains = -predicted[:, 0]
        else:
            # The reference point estimates the space's (the protocol's): the median score
            # and the worst cost predicted for the space (or observed), so that neither
            # the cheap nor the accurate end of the front loses its share.
            worst = np.maximum(losses[:, 1:].max(axis=0), space_like[:, 1:].max(axis=0))
            reference = np.array([float(np.median(space_like[:, 0])), *(1.1 * worst)])
            front = losses[history.front()]
            if self._acquisition == "expected":
                gains = np.mean([hypervolume_improvement(front, drawn, reference)
                                 for drawn in samples], axis=0)
            else:
                gains = hypervolume_improvement(front, predicted, reference)
            if np.max(gains) <= 0:
                gains = -predicted[:, 0]
        best = np.flatnonzero(gains >= np.max(gains) - 1e-12)
        return pool[int(rng.choice(best))]
