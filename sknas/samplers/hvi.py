"""Hypervolume-improvement search: model-based multi-objective local search.

Each proposal fits one cheap surrogate per objective to the evaluated trials
(a ridge regression or a random forest, whichever predicts better out of
sample), then proposes the unseen candidate whose optimistic prediction adds
the most hypervolume to the current Pareto front. The candidates are the
neighbours of the front's members (a multi-objective local search around the
front) and random architectures (a space-filling share), so the search
refines the front where the surrogates trust it and jumps elsewhere where they
do not. This is the recipe of BANANAS and of local search with a predictor
(White et al., 2021), with expected hypervolume improvement (Emmerich et al.,
2006) as the acquisition, made cheap by random-forest surrogates (SMAC's
model, Hutter et al., 2011) and an exact two-objective improvement.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from sknas.samplers._base import _check_float, _check_floor, _check_int, unseen
from sknas.samplers._pareto import ParetoHistory, ParetoSamplerBase, model_targets
from sknas.samplers.neural_architect import hypervolume_improvement

if TYPE_CHECKING:  # pragma: no cover
    from sknas.samplers._base import Domain
    from sknas.spaces.base import SearchSpace

__all__ = ["HypervolumeImprovementSampler"]

#: Encodings the forest reads when the space knows them (concatenated); the ridge
#: regression reads the first.
_ENCODINGS = ("onehot", "effective")


def _encode(domain: Domain, params: list[dict[str, Any]], kinds: tuple[str, ...]) -> np.ndarray:
    """Concatenated encodings of ``params``; a kind the space does not know is skipped."""
    blocks = []
    space = domain.space
    for kind in kinds:
        if space is None and kind != "onehot":
            continue
        try:
            blocks.append(np.stack([
                domain.encode(p) if space is None or kind == "onehot" else
                np.asarray(space.encode(space.decode(p), kind), dtype=float)
                for p in params
            ]))
        except (ValueError, KeyError, TypeError, NotImplementedError):
            continue
    return np.hstack(blocks) if blocks else domain.encode_many(params)


class _Surrogate:
    """One objective's model: ridge (leave-one-out) or forest (out-of-bag), the better one."""

    def __init__(self, n_trees: int, seed: int) -> None:
        self.n_trees = n_trees
        self.seed = seed

    def fit(self, X_linear: np.ndarray, X_forest: np.ndarray, y: np.ndarray) -> _Surrogate:
        from sklearn import config_context

        with config_context(skip_parameter_validation=True, assume_finite=True), \
                warnings.catch_warnings():
            # Few trials: some have no out-of-bag prediction; they are left out of the error.
            warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores")
            return self._fit(X_linear, X_forest, y)

    def _fit(self, X_linear: np.ndarray, X_forest: np.ndarray, y: np.ndarray) -> _Surrogate:
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.linear_model import RidgeCV

        self.ridge = RidgeCV(alphas=(0.1, 1.0, 10.0), store_cv_results=True).fit(X_linear, y)
        ridge_error = float(np.min(np.mean(self.ridge.cv_results_, axis=0)))
        self.forest = RandomForestRegressor(
            n_estimators=self.n_trees, max_features=0.5, min_samples_leaf=1, oob_score=True,
            bootstrap=True, random_state=self.seed, n_jobs=1,
        ).fit(X_forest, y)
        oob = np.asarray(self.forest.oob_prediction_, dtype=float)
        known = np.isfinite(oob)
        forest_error = float(np.mean((oob[known] - y[known]) ** 2)) if known.any() else np.inf
        self.use_forest = forest_error < ridge_error
        return self

    def predict(self, X_linear: np.ndarray, X_forest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread (the forest's trees) of the prediction."""
        from sklearn import config_context

        with config_context(skip_parameter_validation=True, assume_finite=True):
            trees = np.stack([tree.predict(X_forest) for tree in self.forest.estimators_])
        spread = trees.std(axis=0)
        mean = trees.mean(axis=0) if self.use_forest else self.ridge.predict(X_linear)
        return np.asarray(mean, dtype=float), spread


class HypervolumeImprovementSampler(ParetoSamplerBase):
    """Multi-objective local search guided by surrogates and hypervolume improvement.

    For each proposal:

    1. every objective gets a surrogate fitted to the evaluated trials: a
       ridge regression on the one-hot encoding or a random forest on the
       space's richer encodings (for NAS-Bench-201 cells the one-hot plus the
       ``"effective"`` cell, which ignores dead edges), whichever has the lower
       out-of-sample error (ridge's leave-one-out, the forest's out-of-bag
       error). Positive costs are modelled on a log scale;
    2. the candidates are the unseen neighbours of the Pareto front's members
       and ``n_candidates`` random architectures;
    3. each candidate's objectives are predicted optimistically, mean minus
       ``kappa`` times the forest's spread across trees (losses), and the
       proposal is the candidate whose prediction adds the most hypervolume
       to the front (reference: the median score of the trials and 1.1 times
       their worst cost); when no candidate adds any, the one of best
       predicted score.

    Everything is rebuilt from the study's trials at each proposal, so the
    sampler works across processes and on resume; infeasible trials
    (constraints) leave the front. In a single-objective study the
    acquisition is the optimistic predicted score.

    Parameters
    ----------
    n_candidates : int, default=200
        Random architectures added to the front's neighbours.
    kappa : float, default=1.0
        Weight of the forest's spread in the optimistic prediction (0: the
        mean only).
    n_trees : int, default=32
        Trees of each forest.
    score_floor : {"median", None}, default=None
        ``"median"`` fits the score's surrogate to the scores raised to their
        median (the hypervolume's reference: a worse score adds nothing), so a
        few broken candidates do not set the model's scale.
    score_share : float, default=0.25
        Share of the proposals (drawn per trial) that take the candidate of
        best optimistic predicted score instead: the front's accurate end,
        whose small score gains the hypervolume undervalues while the
        surrogates are rough, and the point ``refit=True`` deploys.
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
        n_trees: int = 32,
        score_floor: str | None = None,
        score_share: float = 0.25,
        n_startup_trials: int = 10,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._n_candidates = _check_int("n_candidates", n_candidates, 0)
        self._kappa = _check_float("kappa", kappa)
        self._n_trees = _check_int("n_trees", n_trees, 1)
        self._score_floor = _check_floor("score_floor", score_floor)
        self._score_share = _check_float("score_share", score_share)
        if self._score_share > 1:
            raise ValueError(f"score_share must lie in [0, 1]; got {score_share!r}.")
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, search_space=search_space)

    def _features(
        self, domain: Domain, params: list[dict[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ridge's and the forest's features of ``params`` (memoised per parameter set)."""
        cache: dict[Any, tuple[np.ndarray, np.ndarray]] = self.__dict__.setdefault("_cache", {})
        keys = [tuple(sorted((k, repr(v)) for k, v in p.items())) for p in params]
        missing = [i for i, k in enumerate(keys) if k not in cache]
        if missing:
            todo = [params[i] for i in missing]
            linear, forest = domain.encode_many(todo), _encode(domain, todo, _ENCODINGS)
            for row, i in enumerate(missing):
                cache[keys[i]] = (linear[row], forest[row])
        return (np.stack([cache[k][0] for k in keys]), np.stack([cache[k][1] for k in keys]))

    def _choose(
        self, domain: Domain, history: ParetoHistory, rng: np.random.Generator, seed: int
    ) -> dict[str, Any]:
        losses = history.losses
        exploit = losses.shape[1] > 1 and rng.random() < self._score_share
        pool: list[dict[str, Any]] = []
        if exploit:  # local search at the accurate end: around the best scores
            for index in np.argsort(losses[:, 0], kind="stable")[:3]:
                pool.extend(domain.neighbours(history.params[int(index)]))
            pool = unseen(domain, pool, history.seen)
        randoms: list[dict[str, Any]] = []
        if not pool:
            exploit = False
            for index in history.front():
                pool.extend(domain.neighbours(history.params[int(index)]))
            randoms = [domain.sample(rng) for _ in range(self._n_candidates)]
            pool = unseen(domain, pool + randoms, history.seen)
        if not pool:
            return domain.sample(rng)
        targets, logged = model_targets(losses)
        if self._score_floor == "median":  # worse than the median adds no hypervolume
            targets[:, 0] = np.minimum(targets[:, 0], np.median(targets[:, 0]))
        fit_linear, fit_forest = self._features(domain, history.params)
        pool_linear, pool_forest = self._features(domain, pool + randoms)
        if exploit or losses.shape[1] == 1:
            losses, logged, targets = losses[:, :1], logged[:1], targets[:, :1]
        predicted = np.empty((len(pool) + len(randoms), losses.shape[1]))
        expected = np.empty_like(predicted)
        for j in range(losses.shape[1]):
            model = _Surrogate(self._n_trees, seed % 2**31).fit(
                fit_linear, fit_forest, targets[:, j])
            expected[:, j], spread = model.predict(pool_linear, pool_forest)
            predicted[:, j] = expected[:, j] - self._kappa * spread
        predicted[:, logged] = np.exp(predicted[:, logged])
        expected[:, logged] = np.exp(expected[:, logged])
        # The random architectures (also predicted) stand for the whole space.
        space_like = expected[len(pool):] if randoms else losses
        predicted = predicted[: len(pool)]
        if losses.shape[1] == 1:
            gains = -predicted[:, 0]
        else:
            # The reference point estimates the space's (the protocol's): the median score
            # and the worst cost predicted for random architectures (or observed), so that
            # neither the cheap nor the accurate end of the front loses its share.
            worst = np.maximum(losses[:, 1:].max(axis=0), space_like[:, 1:].max(axis=0))
            reference = np.array([float(np.median(space_like[:, 0])), *(1.1 * worst)])
            gains = hypervolume_improvement(losses[history.front()], predicted, reference)
            if np.max(gains) <= 0:
                gains = -predicted[:, 0]
        best = np.flatnonzero(gains >= np.max(gains) - 1e-12)
        return pool[int(rng.choice(best))]
