"""BANANAS: Bayesian optimisation with neural architectures, White et al. (AAAI 2021)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import norm

from sknas.samplers._base import (
    Domain,
    History,
    NASSamplerBase,
    _check_choice,
    _check_float,
    _check_floor,
    _check_int,
    candidate_pool,
    floor_scores,
)
from sknas.samplers._ensemble import fit_predict_ensemble
from sknas.utils._threads import torch_threads

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from sknas.spaces.base import SearchSpace

__all__ = ["BananasSampler"]


class BananasSampler(NASSamplerBase):
    """BANANAS: an ensemble of neural predictors with Thompson-sampling acquisition.

    For each proposal an ensemble of ``n_models`` small MLPs is trained on the
    encodings of the finished trials (path encoding when the search space
    offers it, one-hot otherwise) and scores a pool of candidates not yet
    evaluated. When the search space can enumerate itself
    (``all_architectures()``) with at most ``max_pool_size`` members, the pool
    is the whole space minus the architectures already finished or running;
    otherwise it is built by mutating the ``n_parents`` best architectures
    (``n_candidates`` mutations in all, one or two changes each) plus
    ``n_random`` random ones. The candidate with the best acquisition value is
    proposed:

    * ``"its"`` (independent Thompson sampling, the default): one draw per
      candidate from a Gaussian with the ensemble's mean and standard deviation;
    * ``"ucb"``: mean + ``ucb_kappa`` x standard deviation;
    * ``"ei"``: expected improvement over the best value, Gaussian approximation.

    Parameters
    ----------
    n_models : int, default=5
        Members of the ensemble.
    hidden_size : int, default=32
        Width of each hidden layer.
    n_layers : int, default=3
        Hidden layers of each member.
    n_epochs : int, default=100
        Full-batch Adam steps per training.
    learning_rate : float, default=0.01
        Adam step size.
    acquisition : {"its", "ucb", "ei"}, default="its"
        Acquisition function.
    ucb_kappa : float, default=1.0
        Weight of the standard deviation in ``"ucb"``.
    encoding : {"auto", "path", "onehot"}, default="auto"
        ``"auto"`` uses ``"path"`` when the search space offers it. Without a
        search space the generic one-hot encoding is used.
    n_candidates : int, default=100
        Mutations of the best architectures in the mutation pool.
    n_parents : int, default=10
        Best architectures that are mutated.
    n_random : int, default=10
        Random architectures added to the pool.
    candidate_pool : {"auto", "full", "mutation"}, default="auto"
        ``"full"``: score every architecture of the search space not yet
        evaluated (needs a search space with ``all_architectures()``; its
        encodings are computed once and kept by the sampler). ``"mutation"``:
        the mutation pool below. ``"auto"``: ``"full"`` when the search space
        enumerates itself in at most ``max_pool_size`` architectures,
        ``"mutation"`` otherwise (and without a search space).
    max_pool_size : int, default=20000
        Largest space that ``"auto"`` scores completely.
    neighbours : bool, default=True
        Also put every unseen one-change neighbour of the parents in the pool
        (``search_space.neighbours``; only with a search space).
    max_changes : int, default=2
        Mutations in the pool make 1 to ``max_changes`` changes.
    score_floor : {"median", None}, default="median"
        The ensemble is trained on the scores with those below their median
        raised to it (:func:`~sknas.samplers._base.floor_scores`); None trains
        on the scores as they are.
    n_startup_trials : int, default=10
        Random trials before the predictor is used.
    seed : int, optional
        Seed of the weights, the pool and the acquisition draws.
    search_space : SearchSpace, optional
        Architecture-aware mutation and encodings.

    Examples
    --------
    >>> import optuna
    >>> sampler = BananasSampler(n_models=2, n_epochs=30, n_startup_trials=5, seed=0)
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(lambda t: (t.suggest_int("x", 0, 20) - 7) ** 2, n_trials=12)
    >>> len(study.trials)
    12
    """

    def __init__(
        self,
        *,
        n_models: int = 5,
        hidden_size: int = 32,
        n_layers: int = 3,
        n_epochs: int = 100,
        learning_rate: float = 0.01,
        acquisition: str = "its",
        ucb_kappa: float = 1.0,
        encoding: str = "auto",
        n_candidates: int = 100,
        n_parents: int = 10,
        n_random: int = 10,
        candidate_pool: str = "auto",
        max_pool_size: int = 20000,
        neighbours: bool = True,
        max_changes: int = 2,
        score_floor: str | None = "median",
        n_startup_trials: int = 10,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._n_models = _check_int("n_models", n_models, 1)
        self._hidden_size = _check_int("hidden_size", hidden_size, 1)
        self._n_layers = _check_int("n_layers", n_layers, 1)
        self._n_epochs = _check_int("n_epochs", n_epochs, 1)
        self._learning_rate = _check_float("learning_rate", learning_rate)
        self._acquisition = _check_choice("acquisition", acquisition, ("its", "ucb", "ei"))
        self._ucb_kappa = _check_float("ucb_kappa", ucb_kappa)
        self._encoding_name = _check_choice("encoding", encoding, ("auto", "path", "onehot"))
        self._n_candidates = _check_int("n_candidates", n_candidates, 1)
        self._n_parents = _check_int("n_parents", n_parents, 1)
        self._n_random = _check_int("n_random", n_random, 0)
        self._neighbours = bool(neighbours)
        self._max_changes = _check_int("max_changes", max_changes, 1)
        self._candidate_pool = _check_choice(
            "candidate_pool", candidate_pool, ("auto", "full", "mutation")
        )
        self._max_pool_size = _check_int("max_pool_size", max_pool_size, 1)
        self._score_floor = _check_floor("score_floor", score_floor)
        self._full_cache: _FullPool | None = None
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, search_space=search_space)
        if (
            self._encoding_name == "path"
            and search_space is not None
            and "path" not in search_space.encodings
        ):
            raise ValueError(
                f"encoding='path' needs a search space that offers it; "
                f"{type(search_space).__name__} offers {list(search_space.encodings)}."
            )
        if self._candidate_pool == "full" and not _enumerable(search_space):
            raise ValueError(
                "candidate_pool='full' needs a search space whose all_architectures() "
                "lists it (not None); "
                f"got {type(search_space).__name__ if search_space is not None else None}."
            )

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_full_cache"] = None  # a pure function of the space, rebuilt on demand
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("_candidate_pool", "auto")
        state.setdefault("_max_pool_size", 20000)
        state.setdefault("_full_cache", None)
        super().__setstate__(state)

    def _full_pool(self, domain: Domain) -> _FullPool | None:
        """Every architecture of the space with its encoding, or None (mutation pool)."""
        space = domain.space
        if self._candidate_pool == "mutation" or space is None or not _enumerable(space):
            return None
        cache = self._full_cache
        if cache is not None and cache.space is space and cache.encoding == domain.encoding:
            return cache if cache.params else None
        limit = None if self._candidate_pool == "full" else self._max_pool_size + 1
        listed = space.all_architectures()
        archs = list(itertools.islice(listed, limit)) if listed is not None else []
        if limit is not None and len(archs) >= limit:
            archs = []  # too large for "auto": remember the answer, use the mutation pool
        params = [domain.restrict(space.to_params(a)) for a in archs]
        index: dict[Any, list[int]] = {}
        for i, candidate in enumerate(params):
            index.setdefault(domain.key(candidate), []).append(i)
        X = (
            np.stack([np.asarray(space.encode(a, domain.encoding), dtype=float) for a in archs])
            if archs
            else np.zeros((0, 0))
        )
        self._full_cache = _FullPool(space, domain.encoding, params, index, X)
        return self._full_cache if params else None

    def _encoding(self) -> str:
        space = self._search_space
        if self._encoding_name == "auto":
            return "path" if space is not None and "path" in space.encodings else "onehot"
        return self._encoding_name

    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        full = self._full_pool(domain)
        if full is not None:
            keep = np.ones(len(full.params), dtype=bool)
            for key in history.seen:
                keep[full.index.get(key, [])] = False
            rows = np.flatnonzero(keep)
            pool = [full.params[int(i)] for i in rows] if len(rows) else [domain.sample(rng)]
            X_pool = full.X[rows] if len(rows) else domain.encode_many(pool)
        else:
            pool = candidate_pool(
                domain,
                history,
                rng,
                n_mutations=self._n_candidates,
                n_parents=self._n_parents,
                n_random=self._n_random,
                neighbours=self._neighbours,
                max_changes=self._max_changes,
            )
            X_pool = None
        if len(pool) == 1:
            return pool[0]
        if X_pool is None:
            X_pool = domain.encode_many(pool)
        with torch_threads(1):
            pred = fit_predict_ensemble(
                domain.encode_many(history.params),
                floor_scores(history.scores, self._score_floor),
                X_pool,
                n_models=self._n_models,
                hidden_size=self._hidden_size,
                n_layers=self._n_layers,
                n_epochs=self._n_epochs,
                learning_rate=self._learning_rate,
                seed=self._trial_seed(trial, salt=1),
            )
        mean = pred.mean(axis=0)
        std = pred.std(axis=0)
        if self._acquisition == "its":
            value = mean + std * rng.standard_normal(len(pool))
        elif self._acquisition == "ucb":
            value = mean + self._ucb_kappa * std
        else:
            best = float(np.max(history.scores))
            safe = np.maximum(std, 1e-12)
            z = (mean - best) / safe
            value = (mean - best) * norm.cdf(z) + safe * norm.pdf(z)
        return pool[int(np.argmax(value))]


class _FullPool:
    """The enumerated space: parameter sets, their row by key, their encodings."""

    def __init__(
        self,
        space: SearchSpace,
        encoding: str,
        params: list[dict[str, Any]],
        index: dict[Any, list[int]],
        X: np.ndarray,
    ) -> None:
        self.space = space
        self.encoding = encoding
        self.params = params
        self.index = index
        self.X = X


def _enumerable(space: SearchSpace | None) -> bool:
    return space is not None and space.all_architectures() is not None
