"""Local search (hill climbing with restarts), after White, Nolen, Savani (UAI 2021)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import TrialState

from sknas._optuna_compat import cached_trials, set_trial_system_attr
from sknas.samplers._base import (
    Domain,
    History,
    NASSamplerBase,
    _check_choice,
    _check_float,
    _check_int,
    draw_unseen,
    floor_scores,
)
from sknas.spaces.encoding import encode_choice_counts

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from sknas.spaces.base import SearchSpace

__all__ = ["LocalSearchSampler"]

#: Trial system attribute holding ``[episode, is_restart_point]``.
EPISODE_ATTR = "sknas:local_search_episode"

_ORDERS = ("model", "random")
_RESTARTS = ("random", "model", "perturb")
#: Random architectures the model ranks for a ``restart_points="model"`` restart.
_RESTART_POOL = 100
#: Evaluations before ``restart_points="model"`` trusts the model.
_RESTART_MIN_HISTORY = 5
_FEATURES = ("counts", "onehot", "pooled", "auto")
_SCALES = ("values", "ranks")
#: Ridge penalties ``model_features="auto"`` chooses among, with the features.
_AUTO_ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: Scale of the choice counts next to the one-hot slots in the "pooled" features;
#: the ridge penalty on the counts is in effect ``1 / _POOLED_SCALE**2`` of that on
#: the one-hot slots.
_POOLED_SCALE = 3.0


class LocalSearchSampler(NASSamplerBase):
    """First-improvement hill climbing over one-change neighbours, with random restarts.

    A search is a series of *episodes*. An episode starts with
    ``n_restart_trials`` random architectures (``n_startup_trials`` in the
    first one); then it climbs: it proposes an unevaluated neighbour of the
    episode's best architecture (one parameter changed, see
    :meth:`Domain.neighbours`), and as soon as a neighbour scores better it
    becomes the point whose neighbours are tried. When every neighbour of the
    best point has been evaluated, that point is a local optimum and a new
    episode starts from fresh random architectures.

    The order in which neighbours are tried is the climb's main cost. With
    ``neighbour_order="model"`` they are ranked by a ridge regression fitted
    to every finished trial, with the scores below the median raised to the
    median, so that the model learns what separates good architectures and is
    not dominated by the broken ones at the bottom. With
    ``model_features="counts"`` its features are the choice counts of the
    categoricals that share their choices
    (:func:`~sknas.spaces.encoding.encode_choice_counts`): on a cell the model
    learns which *operations* pay off, from every edge at once, which a few
    dozen evaluations support (on an MLP it pools the layer widths). Where a
    choice is worth different things on different parameters, ``"onehot"``
    fits one weight per parameter and choice. The default, ``"auto"``, picks
    at every proposal whichever of these (and, on NAS-Bench-201, the
    ``"effective"`` encoding) has the smallest leave-one-out error, so it
    learns whether equal worth holds (docs/strategies/defaults.md), and
    ``"pooled"`` uses both (the counts scaled up, so that the penalty
    shrinks them nine times less: the per-parameter weights grow as evidence
    accumulates). With ``neighbour_order="random"`` the neighbours are tried in
    random order (the plain local search of White et al.).

    Architectures already evaluated or running are skipped, and so are those
    the search space knows to be isomorphic to one
    (:meth:`~sknas.spaces.NB201Space.isomorphism_key`): they compute the same
    function.

    The episode of each proposal is stored as a trial system attribute, and
    the climb is rebuilt from the study's trials at every proposal, so the
    sampler works with any storage, across processes and on resume. Trials it
    did not propose (enqueued or from another sampler) count as random points
    of the first episode, so resuming a study climbs from its best trial.

    Parameters
    ----------
    n_startup_trials : int, default=10
        Random architectures of the first episode.
    n_restart_trials : int, default=5
        Random architectures that start each later episode.
    neighbour_order : {"model", "random"}, default="model"
        How the neighbours of the current point are ranked.
    model_features : {"counts", "onehot", "pooled", "auto"}, default="auto"
        Features of the ridge model: choice counts of the categoricals that
        share their choices, the one-hot encoding, or both (see above).
        ``"auto"`` chooses, at every proposal, between the counts, the
        one-hot and, where the space has it, its ``"effective"`` encoding
        (NAS-Bench-201), and the penalty among 0.3 ... 100, by the ridge's
        leave-one-out error on the trials so far: the model itself tells
        whether a choice is worth the same on every parameter.
    ridge_alpha : float, default=1.0
        L2 penalty of the ridge model (with ``"pooled"``, 50 measured well;
        ignored with ``"auto"``).
    restart_points : {"random", "model", "perturb"}, default="random"
        How the architectures that start an episode are chosen: at random,
        or (once 5 trials have finished) the best of 100 random unseen
        architectures as the ridge model ranks them (a model-based start,
        then the local climb), or, for the episodes after the first, the
        unseen architecture at most two changes away from the best one so
        far that the model ranks first (iterated local search: a perturbed
        restart near the incumbent).
    score_scale : {"values", "ranks"}, default="values"
        What the ridge model fits: the scores, or their ranks scaled to
        [0, 1], which makes the ranking of the neighbours, like the climb
        itself, depend only on the order of the scores (the same search
        under any increasing transform of the objective).
    n_climb_points : int, default=1
        How many of the episode's best architectures the climb moves from: the
        candidates are the unseen neighbours of all of them, ranked together
        by the model (1 is plain hill climbing; more keeps climbing from the
        runners-up while the best point's neighbourhood looks poor).
    patience : int, optional
        Start a new episode once this many climbing steps in a row have not
        improved the episode's best (a restart driven by stagnation); None
        climbs until the neighbourhood is exhausted.
    max_draws : int, default=100
        Random draws tried to find an architecture not yet seen.
    seed : int, optional
        Seed of every random choice; the same seed and history give the same proposal.
    search_space : SearchSpace, optional
        Architecture-aware decoding, encoding and isomorphism.

    Examples
    --------
    >>> import optuna
    >>> sampler = LocalSearchSampler(n_startup_trials=3, seed=0)
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(
    ...     lambda t: (t.suggest_categorical("a", [0, 1, 2, 3]) - 2) ** 2
    ...     + (t.suggest_categorical("b", [0, 1, 2, 3]) - 1) ** 2,
    ...     n_trials=12,
    ... )
    >>> study.best_value
    0.0
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 10,
        n_restart_trials: int = 5,
        neighbour_order: str = "model",
        model_features: str = "auto",
        ridge_alpha: float = 1.0,
        restart_points: str = "random",
        score_scale: str = "values",
        n_climb_points: int = 1,
        patience: int | None = None,
        max_draws: int = 100,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._n_first = _check_int("n_startup_trials", n_startup_trials, 1)
        self._n_restart = _check_int("n_restart_trials", n_restart_trials, 1)
        self._order = _check_choice("neighbour_order", neighbour_order, _ORDERS)
        self._features = _check_choice("model_features", model_features, _FEATURES)
        self._ridge_alpha = _check_float("ridge_alpha", ridge_alpha)
        self._restarts = _check_choice("restart_points", restart_points, _RESTARTS)
        self._score_scale = _check_choice("score_scale", score_scale, _SCALES)
        self._n_climb = _check_int("n_climb_points", n_climb_points, 1)
        self._patience = None if patience is None else _check_int("patience", patience, 1)
        self._max_draws = _check_int("max_draws", max_draws, 1)
        # The first proposal (empty history) comes from the random fallback.
        super().__init__(seed=seed, n_startup_trials=1, search_space=search_space)

    # ------------------------------------------------------------------ proposal
    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        episodes = _episodes(study, trial)
        episode = max(episodes.values(), default=(0, True))[0]
        members = {n for n, (e, _) in episodes.items() if e == episode}
        starts = sum(1 for n in members if episodes[n][1])
        wanted = self._n_first if episode == 0 else self._n_restart
        finished = [i for i, n in enumerate(history.numbers) if n in members]
        if starts < wanted or not finished:
            return self._restart_point(study, trial, domain, history, episode, rng)
        ranked = sorted(finished, key=lambda i: -history.scores[i])
        if self._patience is not None:
            # Climbing steps since the episode's best was found: a stagnating
            # climb starts a new episode before it exhausts the neighbourhood.
            since = history.numbers[ranked[0]]
            stale = sum(1 for n in members if not episodes[n][1] and n > since)
            if stale >= self._patience:
                return self._restart_point(study, trial, domain, history, episode + 1, rng)
        candidates = _unseen_neighbours(
            domain, [history.params[i] for i in ranked[: self._n_climb]], history.seen
        )
        if not candidates:
            return self._restart_point(study, trial, domain, history, episode + 1, rng)
        _mark(study, trial, episode, restart=False)
        return candidates[self._pick(domain, history, candidates, rng)]

    def _restart_point(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        episode: int,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        _mark(study, trial, episode, restart=True)
        if self._restarts == "perturb" and episode > 0 and len(history):
            best = history.params[int(np.argmax(history.scores))]
            near = _unseen_neighbours(domain, [best], set())
            candidates = _unseen_neighbours(domain, [best, *near], history.seen)
            if candidates:
                return candidates[self._pick(domain, history, candidates, rng)]
        if self._restarts == "model" and len(history) >= _RESTART_MIN_HISTORY:
            pool: dict[Any, dict[str, Any]] = {}
            for _ in range(_RESTART_POOL):
                candidate = domain.sample(rng)
                key = domain.key(candidate)
                if key not in history.seen:
                    pool.setdefault(key, candidate)
            if pool:
                candidates = list(pool.values())
                return candidates[self._pick(domain, history, candidates, rng)]
        return draw_unseen(lambda: domain.sample(rng), domain, history.seen, self._max_draws)

    def _pick(
        self,
        domain: Domain,
        history: History,
        candidates: list[dict[str, Any]],
        rng: np.random.Generator,
    ) -> int:
        tie_break = rng.random(len(candidates))
        if self._order == "random" or len(history) < 2:
            return int(np.argmax(tie_break))
        if self._features == "auto":
            kinds = ["counts", "onehot"]
            if domain.space is not None and "effective" in domain.space.encodings:
                kinds.append("effective")
            features, alpha = _select_features(
                {kind: self._features_of(domain, history.params + candidates, kind)
                 for kind in kinds},
                len(history),
                floor_scores(self._target(history.scores)),
            )
        else:
            features = self._features_of(domain, history.params + candidates, self._features)
            alpha = self._ridge_alpha
        predicted = _clipped_ridge(
            features[: len(history)],
            self._target(history.scores),
            features[len(history) :],
            alpha,
        )
        return int(np.lexsort((tie_break, -predicted))[0])

    def _target(self, scores: np.ndarray) -> np.ndarray:
        """The scores the model fits: as they are, or their ranks in [0, 1]."""
        if self._score_scale == "values" or len(scores) < 2:
            return scores
        from scipy.stats import rankdata

        return (rankdata(scores) - 1.0) / (len(scores) - 1.0)

    def _features_of(
        self, domain: Domain, params: list[dict[str, Any]], kind: str
    ) -> np.ndarray:
        if domain.space is None:
            return self._compute_features(domain, params, kind)
        # With a fixed space a parameter set always encodes alike: keep the rows
        # (a cache of derived values; the proposals do not depend on it).
        cache = self.__dict__.setdefault("_feature_cache", {})
        keys = [(kind, tuple(repr(p[name]) for name in domain.names)) for p in params]
        missing = [i for i, key in enumerate(keys) if key not in cache]
        if missing:
            rows = self._compute_features(domain, [params[i] for i in missing], kind)
            for i, row in zip(missing, rows):
                cache[keys[i]] = row
        return np.stack([cache[key] for key in keys])

    def _compute_features(
        self, domain: Domain, params: list[dict[str, Any]], kind: str
    ) -> np.ndarray:
        parts = []
        if kind in ("pooled", "counts"):
            counts = np.stack([encode_choice_counts(domain.distributions, p) for p in params])
            parts.append(counts * (_POOLED_SCALE if kind == "pooled" else 1.0))
        if kind in ("pooled", "onehot"):
            parts.append(domain.encode_many(params))
        if kind == "effective" and domain.space is not None:
            space = domain.space
            parts.append(np.stack([space.encode(space.decode(p), kind) for p in params]))
        return np.hstack(parts)


def _unseen_neighbours(
    domain: Domain, points: list[dict[str, Any]], seen: set[Any]
) -> list[dict[str, Any]]:
    """The distinct neighbours of ``points`` whose keys are not in ``seen``, in order."""
    keys = set(seen)
    result = []
    for point in points:
        for candidate in domain.neighbours(point):
            key = domain.key(candidate)
            if key not in keys:
                keys.add(key)
                result.append(candidate)
    return result


def _episodes(study: Study, trial: FrozenTrial) -> dict[int, tuple[int, bool]]:
    """``number -> (episode, is_restart_point)`` for every other trial of the study."""
    result: dict[int, tuple[int, bool]] = {}
    for other in cached_trials(study):
        if other.number == trial.number or other.state == TrialState.WAITING:
            continue
        mark = other.system_attrs.get(EPISODE_ATTR)
        result[other.number] = (int(mark[0]), bool(mark[1])) if mark else (0, True)
    return result


def _mark(study: Study, trial: FrozenTrial, episode: int, *, restart: bool) -> None:
    set_trial_system_attr(study, trial, EPISODE_ATTR, [episode, restart])


def loo_ridge_errors(X: np.ndarray, y: np.ndarray, alphas: tuple[float, ...]) -> np.ndarray:
    """Mean squared leave-one-out error of a ridge without intercept, for each penalty.

    The closed form of scikit-learn's ``RidgeCV(fit_intercept=False,
    store_cv_results=True)`` (one SVD for every penalty, about ten times
    faster at these sizes): with ``X = U S V^T``, the fit is
    ``U diag(s^2 / (s^2 + alpha)) U^T y`` and the leave-one-out residual is the
    residual divided by ``1 - h_ii``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features.
    y : ndarray of shape (n_samples,)
        Targets (centred).
    alphas : tuple of float
        Penalties.

    Returns
    -------
    ndarray of shape (len(alphas),)
    """
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    projected = U.T @ y
    errors = []
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        fitted = U @ (shrink * projected)
        leverage = (U**2) @ shrink
        errors.append(float(np.mean(((y - fitted) / (1.0 - leverage)) ** 2)))
    return np.asarray(errors)


def _select_features(
    options: dict[str, np.ndarray], n_fitted: int, target: np.ndarray
) -> tuple[np.ndarray, float]:
    """The features and ridge penalty with the smallest leave-one-out error.

    Parameters
    ----------
    options : dict of str to ndarray
        Candidate feature matrices; their first ``n_fitted`` rows are the
        evaluated architectures.
    n_fitted : int
        Number of evaluated architectures.
    target : ndarray of shape (n_fitted,)
        Their (floored) scores.

    Returns
    -------
    features : ndarray
        The chosen matrix (all rows).
    alpha : float
        The chosen penalty.
    """
    centred = target - target.mean()
    best: tuple[float, str, float] | None = None
    for kind, features in options.items():
        errors = loo_ridge_errors(features[:n_fitted], centred, _AUTO_ALPHAS)
        k = int(np.argmin(errors))
        if best is None or errors[k] < best[0]:
            best = (float(errors[k]), kind, float(_AUTO_ALPHAS[k]))
    assert best is not None
    return options[best[1]], best[2]


def _clipped_ridge(
    X: np.ndarray, y: np.ndarray, X_new: np.ndarray, alpha: float
) -> np.ndarray:
    """Ridge predictions with the targets below their median raised to it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Encodings of the evaluated architectures.
    y : ndarray of shape (n_samples,)
        Their scores (larger is better).
    X_new : ndarray of shape (n_candidates, n_features)
        Encodings to rank.
    alpha : float
        L2 penalty.

    Returns
    -------
    ndarray of shape (n_candidates,)
    """
    from sklearn.linear_model import Ridge

    target = floor_scores(y)
    centre = float(target.mean())
    # The targets are centred and the features are not: no intercept to fit.
    model = Ridge(alpha=alpha, fit_intercept=False).fit(X, target - centre)
    return np.asarray(model.predict(X_new), dtype=float) + centre
