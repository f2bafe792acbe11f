"""Shared machinery of the sknas search strategies.

Every strategy is an Optuna sampler that proposes a whole parameter set at once
(``sample_relative``). :class:`NASSamplerBase` does the bookkeeping they share:

* the relative search space: the given :class:`~sknas.spaces.SearchSpace`'s
  distributions, or the intersection of the study's finished trials;
* a :class:`Domain` that samples, mutates, encodes and keys parameter sets,
  either through the search space or generically through
  :mod:`sknas.spaces.encoding`;
* the history (finished and running trials, read from the study on every
  call, so nothing depends on the process that made them);
* a seed per trial, so the same seed and the same history give the same
  proposal, in any process and on resume;
* ``n_startup_trials`` random proposals from an independent
  :class:`optuna.samplers.RandomSampler`, which also samples every parameter
  outside the relative search space.

Duplicate policy: strategies avoid proposing a parameter set whose key
(:meth:`Domain.key`: the architecture's key or, where the space knows it, its
isomorphism class when a space is given, else the parameter values) belongs to
a finished or running trial; when every
candidate they consider is already known they propose one anyway, and the
search loop answers an exact duplicate from the finished trial.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from sknas._optuna_compat import cached_trials, distribution_contains
from sknas.spaces.encoding import (
    encode_params,
    mutate_params,
    neighbour_params,
    sample_params,
)

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study

    from sknas.spaces.base import SearchSpace

__all__ = ["Domain", "History", "NASSamplerBase"]

logger = logging.getLogger(__name__)

_SUPPORTED = (CategoricalDistribution, IntDistribution, FloatDistribution)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}.")
    return int(value)


def _check_float(name: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"{name} must be a number >= {minimum}; got {value!r}.")
    return float(value)


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}.")
    return str(value)


#: Values of the ``score_floor`` / ``reward_floor`` options of the model-based strategies.
SCORE_FLOORS = ("median", None)


def _check_floor(name: str, value: Any) -> str | None:
    if value not in SCORE_FLOORS:
        raise ValueError(f"{name} must be 'median' or None; got {value!r}.")
    return value


def floor_scores(scores: np.ndarray, floor: str | None = "median") -> np.ndarray:
    """Raise the scores below their median to it (``floor="median"``).

    A model fitted to the floored scores learns what separates the good
    architectures; a few broken ones (a NAS-Bench-201 cell without a path to
    its output scores about 10 %, a good one 85 %) no longer set its scale.

    Parameters
    ----------
    scores : numpy.ndarray
        Larger is better.
    floor : {"median", None}, default="median"
        None returns ``scores`` unchanged.

    Returns
    -------
    numpy.ndarray
    """
    scores = np.asarray(scores, dtype=float)
    if floor is None or scores.size == 0:
        return scores
    return np.maximum(scores, np.median(scores))


class Domain:
    """Sampling, mutation, encoding and identity of parameter sets.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The (relative) search space.
    space : SearchSpace, optional
        When given, its ``sample``, ``mutate``, ``encode``, ``decode`` and
        ``to_params`` are used; otherwise the generic helpers of
        :mod:`sknas.spaces.encoding`.
    encoding : str, default="onehot"
        Encoding passed to ``space.encode`` (ignored without a space).
    """

    def __init__(
        self,
        distributions: Mapping[str, BaseDistribution],
        space: SearchSpace | None = None,
        encoding: str = "onehot",
    ) -> None:
        self.distributions = dict(distributions)
        self.names = list(self.distributions)
        self.space = space
        self.encoding = encoding

    def valid(self, params: Mapping[str, Any]) -> bool:
        """Whether ``params`` sets every parameter inside its distribution."""
        return all(
            name in params and distribution_contains(dist, params[name])
            for name, dist in self.distributions.items()
        )

    def restrict(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of this domain, in its order."""
        return {name: params[name] for name in self.names}

    def key(self, params: Mapping[str, Any]) -> Hashable:
        """Identity of a parameter set, as far as a strategy is concerned.

        With a space, the architecture's
        :meth:`~sknas.spaces.SearchSpace.isomorphism_key` (by default its
        key; for NAS-Bench-201 cells the isomorphism class: two isomorphic
        cells compute the same function, so a strategy that has evaluated one
        gains nothing from proposing the other). Without a space, or for a set
        the space refuses to decode, the parameter values.
        """
        if self.space is not None:
            try:
                arch = self.space.decode(params)
            except (ValueError, KeyError, TypeError) as error:
                logger.debug("Parameter set keyed by its values: the space refuses it (%s)", error)
            else:
                return self.space.isomorphism_key(arch)
        return tuple(repr(params[name]) for name in self.names)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """A random parameter set."""
        if self.space is not None:
            return self.restrict(self.space.to_params(self.space.sample(rng)))
        return sample_params(self.distributions, rng)

    def mutate(
        self, params: Mapping[str, Any], rng: np.random.Generator, n_changes: int = 1
    ) -> dict[str, Any]:
        """A random neighbour of ``params`` (``n_changes`` successive mutations)."""
        child = dict(params)
        for _ in range(n_changes):
            if self.space is not None:
                arch = self.space.decode(child)
                child = self.restrict(self.space.to_params(self.space.mutate(arch, rng)))
            else:
                child = mutate_params(self.distributions, child, rng)
        return child

    def neighbours(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Distinct parameter sets one move away (see :func:`neighbour_params`).

        Sets whose :meth:`key` equals that of ``params`` (a change the
        architecture ignores, or an isomorphic cell) or of an earlier neighbour
        are dropped, and so are sets the space's optional ``contains(arch)``
        rejects (a :class:`~sknas.benchmarks.TableSpace` over a table that
        lacks some combinations).
        """
        keys = {self.key(params)}
        result = []
        # A space that holds only some combinations (a benchmark table) says which.
        space = self.space
        contains = getattr(space, "contains", None)
        for candidate in neighbour_params(self.distributions, self.restrict(params)):
            if space is not None and contains is not None and not contains(
                space.decode(candidate)
            ):
                continue
            key = self.key(candidate)
            if key not in keys:
                keys.add(key)
                result.append(candidate)
        return result

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Float vector of ``params`` for a performance predictor."""
        if self.space is not None:
            return np.asarray(
                self.space.encode(self.space.decode(params), self.encoding), dtype=float
            )
        return encode_params(self.distributions, params)

    def encode_many(self, params_list: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Stack the encodings of several parameter sets into a 2-d array."""
        return np.stack([self.encode(p) for p in params_list]) if params_list else np.zeros((0, 0))


@dataclass
class History:
    """What a strategy may know about a study, for one proposal.

    Attributes
    ----------
    params : list of dict
        Parameters of the finished trials with a finite value, in trial-number order.
    scores : numpy.ndarray
        Their values, negated for minimisation, so larger is always better.
    numbers : list of int
        Their trial numbers.
    pending : list of dict
        Parameters of the other running trials that already have them all.
    seen : set
        Keys of every finished (any state with full parameters) or running trial.
    """

    params: list[dict[str, Any]]
    scores: np.ndarray
    numbers: list[int]
    pending: list[dict[str, Any]]
    seen: set[Hashable]

    def __len__(self) -> int:
        return len(self.params)


class NASSamplerBase(BaseSampler):
    """Base class of the sknas strategies (single-objective, relative samplers).

    Subclasses implement :meth:`_propose`.

    Parameters
    ----------
    seed : int, optional
        Seed of every random choice.
    n_startup_trials : int
        Finished trials proposed by the random fallback before the strategy starts.
    search_space : SearchSpace, optional
        Architecture-aware sampling, mutation and encodings.
    """

    def __init__(
        self,
        *,
        seed: int | None,
        n_startup_trials: int,
        search_space: SearchSpace | None,
    ) -> None:
        self._seed = seed
        self._n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 0)
        self._search_space = search_space
        self._base_seed = (
            int(np.random.SeedSequence(seed).generate_state(1)[0])
            if seed is not None
            else int(np.random.SeedSequence().generate_state(1)[0])
        )
        self._random_sampler = RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace(include_pruned=True)

    # ------------------------------------------------------------------ Optuna API
    def reseed_rng(self) -> None:
        """Draw fresh seeds (Optuna calls this for parallel workers)."""
        self._base_seed = int(np.random.SeedSequence().generate_state(1)[0])
        self._random_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The space's distributions, or the intersection of the study's trials."""
        if self._search_space is not None:
            return dict(self._search_space.distributions())
        space = self._intersection.calculate(study)
        return {
            name: dist
            for name, dist in space.items()
            if isinstance(dist, _SUPPORTED) and not dist.single()
        }

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Propose a value for every parameter of ``search_space``."""
        self._check_single_objective(study)
        if not search_space:
            return {}
        domain = self._domain(search_space)
        history = self._history(study, trial, domain)
        if len(history) < max(self._n_startup_trials, 1):
            return {
                name: self._random_sampler.sample_independent(study, trial, name, dist)
                for name, dist in search_space.items()
            }
        rng = self._trial_rng(trial)
        params = self._propose(study, trial, domain, history, rng)
        return {name: _native(search_space[name], params[name]) for name in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Sample a parameter outside the relative search space at random."""
        self._check_single_objective(study)
        return self._random_sampler.sample_independent(study, trial, param_name, param_distribution)

    # ------------------------------------------------------------------ helpers
    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        raise NotImplementedError

    def _encoding(self) -> str:
        return "onehot"

    def _domain(self, search_space: Mapping[str, BaseDistribution]) -> Domain:
        space = self._search_space
        if space is not None and dict(space.distributions()) != dict(search_space):
            space = None
        return Domain(search_space, space, self._encoding() if space is not None else "onehot")

    def _trial_seed(self, trial: FrozenTrial, salt: int = 0) -> int:
        seq = np.random.SeedSequence([self._base_seed, trial.number, salt])
        return int(seq.generate_state(1)[0])

    def _trial_rng(self, trial: FrozenTrial) -> np.random.Generator:
        return np.random.default_rng([self._base_seed, trial.number])

    @staticmethod
    def _check_single_objective(study: Study) -> None:
        if len(study.directions) > 1:
            raise ValueError(
                "sknas search strategies are single-objective; this study has "
                f"{len(study.directions)} objectives. Use optuna.samplers.NSGAIISampler "
                "or TPESampler for multi-objective search."
            )

    @staticmethod
    def _history(study: Study, trial: FrozenTrial, domain: Domain) -> History:
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
        params: list[dict[str, Any]] = []
        scores: list[float] = []
        numbers: list[int] = []
        pending: list[dict[str, Any]] = []
        seen: set[Hashable] = set()
        for other in cached_trials(study):
            if other.number == trial.number or not domain.valid(other.params):
                continue
            values = domain.restrict(other.params)
            if other.state == TrialState.RUNNING:
                pending.append(values)
                seen.add(domain.key(values))
                continue
            if other.state == TrialState.WAITING:
                continue
            seen.add(domain.key(values))
            if other.state != TrialState.COMPLETE or other.value is None:
                continue
            if not math.isfinite(other.value):
                continue
            params.append(values)
            scores.append(sign * float(other.value))
            numbers.append(other.number)
        return History(params, np.asarray(scores, dtype=float), numbers, pending, seen)

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _native(dist: BaseDistribution, value: Any) -> Any:
    """Plain Python value (no numpy scalars) of ``value`` inside ``dist``."""
    if isinstance(dist, IntDistribution):
        return int(value)
    if isinstance(dist, FloatDistribution):
        return float(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def unseen(
    domain: Domain,
    candidates: Sequence[Mapping[str, Any]],
    seen: set[Hashable],
) -> list[dict[str, Any]]:
    """Candidates whose keys are new, each key once, in their order."""
    keep: list[dict[str, Any]] = []
    keys = set(seen)
    for candidate in candidates:
        key = domain.key(candidate)
        if key not in keys:
            keys.add(key)
            keep.append(dict(candidate))
    return keep


def draw_unseen(
    draw: Callable[[], dict[str, Any]],
    domain: Domain,
    seen: set[Hashable],
    retries: int,
) -> dict[str, Any]:
    """Call ``draw`` until it returns a parameter set whose key is not in ``seen``.

    Parameters
    ----------
    draw : callable
        Returns a new parameter set (a sample, a mutation, a policy draw).
    domain : Domain
        Keys the parameter sets.
    seen : set
        Keys already finished or running.
    retries : int
        Draws after the first one; when all of them are known the last draw
        is returned (the search loop answers an exact duplicate).

    Returns
    -------
    dict
    """
    candidate = draw()
    for _ in range(retries):
        if domain.key(candidate) not in seen:
            break
        candidate = draw()
    return candidate


def candidate_pool(
    domain: Domain,
    history: History,
    rng: np.random.Generator,
    *,
    n_mutations: int,
    n_parents: int,
    n_random: int,
    neighbours: bool = False,
    max_changes: int = 2,
) -> list[dict[str, Any]]:
    """Unseen candidates: mutations of the best architectures plus random ones.

    Parameters
    ----------
    domain : Domain
        Samples and mutates.
    history : History
        The finished trials (the ``n_parents`` best are mutated).
    rng : numpy.random.Generator
        Source of randomness.
    n_mutations : int
        Mutations drawn in total, spread over the parents (more for the better).
    n_parents : int
        Number of best architectures to mutate.
    n_random : int
        Random architectures added.
    neighbours : bool, default=False
        Also add every neighbour (``space.neighbours``: one categorical
        change) of each parent, when the domain has a search space.
    max_changes : int, default=2
        Mutations make 1 to ``max_changes`` successive changes (with 2: one
        change for two mutations in three, two changes for the third).

    Returns
    -------
    list of dict
        Distinct candidates not yet evaluated or running; a random one when
        everything drawn was known.
    """
    order = np.argsort(-history.scores, kind="stable")[:n_parents]
    drawn: list[dict[str, Any]] = []
    if neighbours and domain.space is not None:
        space = domain.space
        for parent in order:
            arch = space.decode(history.params[int(parent)])
            drawn.extend(domain.restrict(space.to_params(n)) for n in space.neighbours(arch))
    pattern = (1, 1, 2) if max_changes <= 2 else tuple(range(1, max_changes + 1))
    if len(order):
        per_parent = max(1, n_mutations // len(order))
        for parent in order:
            base = history.params[int(parent)]
            for i in range(per_parent):
                drawn.append(domain.mutate(base, rng, n_changes=pattern[i % len(pattern)]))
    drawn.extend(domain.sample(rng) for _ in range(n_random))
    pool = unseen(domain, drawn, history.seen)
    for _ in range(20):
        if pool:
            break
        pool = unseen(domain, [domain.sample(rng)], history.seen)
    return pool or drawn[:1] or [domain.sample(rng)]
