"""A sampler wrapper that lets a zero-cost proxy pick among several proposals."""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study

__all__ = ["ProxyPrescreenSampler", "proxy_score"]

ArchScore = Callable[[Architecture], float]
# Proposal k > 0 of a trial is asked for a copy of it numbered ``number + k * _SALT``,
# so samplers that seed each trial from its number (the sknas strategies) draw anew.
_SALT = 1 << 40


class ProxyPrescreenSampler(BaseSampler):
    """Draw ``n_candidates`` proposals from ``base``; propose the one the proxy scores best.

    For each trial the base strategy is asked ``n_candidates`` times (its
    first answer is what it would have proposed alone; the others are asked
    for copies of the trial with other numbers, so every strategy, seeded per
    trial or not, draws anew). Each distinct architecture is built by
    ``search_space.build_module`` with weights seeded from ``seed`` and its
    key, and scored by a zero-cost proxy; only the best is trained. Ties keep
    the earlier proposal. Scores are cached per architecture.

    Parameters
    ----------
    base : optuna.samplers.BaseSampler
        The strategy that proposes.
    search_space : SearchSpace
        Decodes proposals and builds their networks.
    proxy : str or callable, default="synflow"
        A name of :data:`sknas.proxies.PROXIES`, or ``score(arch) -> float``
        (e.g. a lookup of precomputed scores; then ``X``, ``y`` and
        ``n_outputs`` are not needed). Larger is better.
    n_candidates : int, default=10
        Proposals drawn per trial (1 makes the wrapper transparent).
    X : array-like of shape (n_samples, n_features), optional
        Batch given to the proxy; its width is the network's ``n_features_in``.
        Required with a proxy name.
    y : array-like of shape (n_samples,), optional
        Targets of ``X`` (for ``snip`` and ``grad_norm``).
    n_outputs : int, optional
        Outputs of the built networks. Required with a proxy name.
    seed : int, default=0
        Seed of the networks' initial weights.

    Examples
    --------
    >>> import optuna
    >>> from sknas.spaces import NB201Space
    >>> space = NB201Space()
    >>> sampler = ProxyPrescreenSampler(
    ...     optuna.samplers.RandomSampler(seed=0), search_space=space,
    ...     proxy=lambda arch: space.ops(arch).count("nor_conv_3x3"), n_candidates=5)
    >>> study = optuna.create_study(sampler=sampler)
    >>> trial = study.ask(space.distributions())
    >>> len(trial.params)
    6
    """

    def __init__(
        self,
        base: BaseSampler,
        *,
        search_space: SearchSpace,
        proxy: str | ArchScore = "synflow",
        n_candidates: int = 10,
        X: Any = None,
        y: Any = None,
        n_outputs: int | None = None,
        seed: int = 0,
    ) -> None:
        if not isinstance(base, BaseSampler):
            raise TypeError(f"base must be an optuna sampler, got {type(base).__name__}.")
        if not isinstance(search_space, SearchSpace):
            raise TypeError(
                f"search_space must be a sknas SearchSpace, got {type(search_space).__name__}."
            )
        if isinstance(n_candidates, bool) or not isinstance(n_candidates, int) or n_candidates < 1:
            raise ValueError(f"n_candidates must be an int >= 1; got {n_candidates!r}.")
        if isinstance(proxy, str):
            from sknas.proxies._registry import PROXIES

            if proxy not in PROXIES:
                raise ValueError(
                    f"Unknown zero-cost proxy {proxy!r}; choose one of {sorted(PROXIES)} "
                    "or pass a callable score(arch) -> float."
                )
            if X is None or n_outputs is None:
                raise ValueError(
                    f"proxy={proxy!r} builds each candidate's network: pass X (a batch of "
                    "inputs, at least its shape) and n_outputs."
                )
        elif not callable(proxy):
            raise TypeError(f"proxy must be a proxy name or a callable, got {proxy!r}.")
        self._base = base
        self._space = search_space
        self._proxy = proxy
        self._n_candidates = n_candidates
        self._X = X
        self._y = y
        self._n_outputs = n_outputs
        self._seed = int(seed)
        self._scores: dict[str, float] = {}

    # ------------------------------------------------------------------ Optuna API
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The search space's distributions (every proposal is a whole architecture).

        Parameters
        ----------
        study : optuna.study.Study
            The study.
        trial : optuna.trial.FrozenTrial
            The trial being sampled.

        Returns
        -------
        dict of str to BaseDistribution
        """
        return dict(self._space.distributions())

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Ask the base strategy for ``n_candidates`` proposals; return the best-scored one.

        Parameters
        ----------
        study : optuna.study.Study
            The study.
        trial : optuna.trial.FrozenTrial
            The trial being sampled.
        search_space : dict of str to BaseDistribution
            The distributions to sample; when they are not the search space's,
            the base strategy's proposal is returned unscreened.

        Returns
        -------
        dict
            The chosen proposal's parameters.
        """
        if not search_space:
            return {}
        if dict(search_space) != dict(self._space.distributions()):
            # not an architecture of the search space: the base's proposal, unscreened
            return self._propose(study, trial, 0, search_space)
        best: dict[str, Any] | None = None
        best_score = -np.inf
        keys: set[str] = set()
        for k in range(self._n_candidates):
            params = self._propose(study, trial, k, search_space)
            arch = self._space.decode(params)
            if arch.key() in keys:
                continue
            keys.add(arch.key())
            score = self.score(arch)
            if best is None or score > best_score:
                best, best_score = params, score
        assert best is not None
        return best

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Parameters outside the search space come from the base strategy.

        Parameters
        ----------
        study : optuna.study.Study
            The study.
        trial : optuna.trial.FrozenTrial
            The trial being sampled.
        param_name : str
            Name of the parameter.
        param_distribution : BaseDistribution
            Its distribution.

        Returns
        -------
        Any
            The base strategy's value.
        """
        return self._base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Forwarded to the base strategy.

        Parameters
        ----------
        study : optuna.study.Study
            The study.
        trial : optuna.trial.FrozenTrial
            The trial being sampled.
        """
        self._base.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Any,
    ) -> None:
        """Forwarded to the base strategy.

        Parameters
        ----------
        study : optuna.study.Study
            The study.
        trial : optuna.trial.FrozenTrial
            The trial being sampled.
        state : optuna.trial.TrialState
            How the trial finished.
        values : sequence of float or None
            Its values.
        """
        self._base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """Forwarded to the base strategy."""
        self._base.reseed_rng()

    # ------------------------------------------------------------------ scoring
    def score(self, arch: Architecture) -> float:
        """The proxy's score of ``arch`` (cached; NaN counts as the worst).

        Parameters
        ----------
        arch : Architecture
            An architecture of the search space.

        Returns
        -------
        float
        """
        key = arch.key()
        if key not in self._scores:
            value = float(self._proxy(arch)) if callable(self._proxy) else self._build_score(arch)
            self._scores[key] = value if not np.isnan(value) else -np.inf
        return self._scores[key]

    def _build_score(self, arch: Architecture) -> float:
        assert isinstance(self._proxy, str) and self._n_outputs is not None
        return proxy_score(
            self._space, arch, self._proxy, self._X, self._y,
            n_outputs=int(self._n_outputs), seed=self._seed,
        )

    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        k: int,
        search_space: Mapping[str, BaseDistribution],
    ) -> dict[str, Any]:
        if k > 0:
            trial = copy.copy(trial)
            trial.number = trial.number + k * _SALT
        relative = self._base.infer_relative_search_space(study, trial)
        params = dict(self._base.sample_relative(study, trial, relative)) if relative else {}
        for name, dist in search_space.items():
            if name not in params:
                params[name] = self._base.sample_independent(study, trial, name, dist)
        return {name: params[name] for name in search_space}


def proxy_score(
    search_space: SearchSpace,
    arch: Architecture,
    proxy: str,
    X: Any,
    y: Any = None,
    *,
    n_outputs: int,
    seed: int = 0,
) -> float:
    """Build ``arch``'s network with seeded initial weights and score it with ``proxy``.

    The weights are drawn from a seed made of ``seed`` and the
    architecture's key inside :func:`torch.random.fork_rng`, so the score
    is reproducible and the global random state is left untouched.

    Parameters
    ----------
    search_space : SearchSpace
        Builds the network.
    arch : Architecture
        The architecture to score.
    proxy : str
        A name of :data:`sknas.proxies.PROXIES`.
    X : array-like of shape (n_samples, n_features)
        Batch given to the proxy; its width is the network's ``n_features_in``.
    y : array-like of shape (n_samples,), optional
        Targets of ``X``.
    n_outputs : int
        Outputs of the network.
    seed : int, default=0
        Seed of the initial weights.

    Returns
    -------
    float
    """
    import torch

    from sknas.proxies._registry import compute_proxy

    n_features_in = int(np.shape(X)[1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(zlib.crc32(f"{seed}:{arch.key()}".encode()))
        module = search_space.build_module(arch, n_features_in, n_outputs)
    return compute_proxy(proxy, module, X, y)
