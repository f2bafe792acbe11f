"""Objectives beyond the score: costs, constraints, the Pareto front and the refit choice.

The estimators' ``objectives`` name what the study optimises (``"score"``
first, then any of ``"params"``, ``"flops"``, ``"latency"``), ``constraints``
bound costs, and ``refit`` may be a dict of bounds that picks a point on the
front. Every candidate's costs are measured on an untrained copy of its
network before it is trained and kept in the trial's ``costs`` user
attribute, so that constraints, ``cv_results_`` and the front read them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from sknas._optuna_compat import (
    pareto_mask,
    record_constraints,
    samplers_read_trial_constraints,
)

if TYPE_CHECKING:  # pragma: no cover
    from sknas.spaces.base import Architecture, SearchSpace

__all__ = [
    "COSTS",
    "COSTS_ATTR",
    "CostConstraints",
    "CostMeter",
    "check_objectives",
    "cost_names",
    "directions",
    "pareto_front",
    "select_on_front",
]

#: Costs a candidate can be measured on (all minimised); ``"score"`` is maximised.
COSTS: tuple[str, ...] = ("params", "flops", "latency")
#: Trial user attribute holding ``{cost name: value}``.
COSTS_ATTR = "costs"
#: Strategy names whose Optuna sampler takes a ``constraints_func``.
CONSTRAINED_STRATEGIES = frozenset(
    {"tpe", "bohb", "motpe", "nsga2", "nsga3", "lemonade", "neural_architect", "hvi"}
)


def check_objectives(objectives: Any) -> tuple[str, ...]:
    """Validate ``objectives``: ``"score"`` first, then distinct costs.

    A single ``"mnasnet:T"`` or ``"mnasnet_hard:T"`` (``T`` in ms) is a
    single-objective search on MnasNet's reward (see
    :class:`sknas.latency.MnasNetReward`).

    Parameters
    ----------
    objectives : sequence of str
        The estimator's setting.

    Returns
    -------
    tuple of str
    """
    names = (objectives,) if isinstance(objectives, str) else tuple(objectives)
    if len(names) == 1 and reward_of(names[0]) is not None:
        return names
    valid = ("score", *COSTS)
    bad = [n for n in names if n not in valid]
    if not names or names[0] != "score" or bad or len(set(names)) != len(names):
        raise ValueError(
            f"objectives must start with 'score' and list distinct names among {list(valid)}, "
            f"e.g. ('score', 'latency'), or be one MnasNet reward such as ('mnasnet:5',) or "
            f"('mnasnet_hard:5',) (target latency in ms); got {objectives!r}."
        )
    return names


def check_bounds(bounds: Any, name: str) -> dict[str, float]:
    """Validate a ``{cost: upper bound}`` dict (``constraints``, or ``refit`` as a dict).

    Parameters
    ----------
    bounds : dict or None
        The setting.
    name : str
        The parameter's name, for messages.

    Returns
    -------
    dict of str to float
    """
    if bounds is None:
        return {}
    out: dict[str, float] = {}
    for key, value in dict(bounds).items():
        if key not in COSTS or not isinstance(value, Real) or isinstance(value, bool) or not (
            float(value) > 0 and math.isfinite(float(value))
        ):
            raise ValueError(
                f"{name} must map costs among {list(COSTS)} to positive upper bounds "
                f"(latency in ms), e.g. {{'latency': 5.0}}; got {key!r}: {value!r}."
            )
        out[key] = float(value)
    return out


def reward_of(name: str) -> Any:
    """The MnasNet reward an objective name stands for, or None."""
    from sknas.latency._reward import parse_reward

    return parse_reward(name)


def cost_names(objectives: Sequence[str], *bounds: Mapping[str, float]) -> tuple[str, ...]:
    """The costs to measure: those among the objectives or bounded anywhere."""
    wanted = set(objectives).union(*(set(b) for b in bounds))
    if any(reward_of(n) is not None for n in objectives):
        wanted.add("latency")
    return tuple(c for c in COSTS if c in wanted)


def directions(objectives: Sequence[str]) -> list[StudyDirection]:
    """Optuna study directions of ``objectives``."""
    return [
        StudyDirection.MINIMIZE if n in COSTS else StudyDirection.MAXIMIZE for n in objectives
    ]


def check_study_directions(study: optuna.Study, objectives: Sequence[str]) -> None:
    """Refuse to resume a stored study that was created for other objectives."""
    wanted = directions(objectives)
    if list(study.directions) != wanted:
        raise ValueError(
            f"The study {study.study_name!r} in the storage optimises "
            f"{[d.name.lower() for d in study.directions]}, but objectives={tuple(objectives)} "
            f"needs {[d.name.lower() for d in wanted]}. Use another study_name."
        )


class CostMeter:
    """Measures a candidate's costs on an untrained copy of its network.

    Parameters
    ----------
    search_space : SearchSpace
        Builds the networks.
    n_features_in, n_outputs : int
        The network's input width and outputs.
    names : sequence of str
        Costs to measure, among :data:`COSTS`.
    device : str, default="cpu"
        Where latency is measured.
    batch_size : int, default=1
        Inputs per timed forward pass.
    build : callable, optional
        ``build(arch)`` returns the network as it will be deployed (the
        estimators pass their evaluator's ``inference_module``: the space's
        network inside the input scaling); default ``search_space.build_module``.
    """

    def __init__(
        self,
        search_space: SearchSpace,
        n_features_in: int,
        n_outputs: int,
        names: Sequence[str],
        *,
        device: str = "cpu",
        batch_size: int = 1,
        build: Callable[[Architecture], Any] | None = None,
    ) -> None:
        from sknas.latency import MeasuredLatency

        self.search_space = search_space
        self.n_features_in = int(n_features_in)
        self.names = tuple(names)
        self.latency = MeasuredLatency(
            search_space, n_features_in, n_outputs, batch_size=batch_size, device=device
        )
        self.build = build or (
            lambda arch: search_space.build_module(arch, self.n_features_in, n_outputs)
        )

    def measure(self, arch: Architecture) -> dict[str, float]:
        """``{cost: value}`` of ``arch`` (latency in ms, cached per architecture)."""
        from sknas.latency import count_flops, count_parameters

        if not self.names:
            return {}
        module = self.build(arch)
        costs: dict[str, float] = {}
        if "params" in self.names:
            costs["params"] = float(count_parameters(module))
        if "flops" in self.names:
            costs["flops"] = float(count_flops(module, (self.n_features_in,)))
        if "latency" in self.names:
            costs["latency"] = self.latency.predict(arch, module)
        return costs


class CostConstraints:
    """Optuna ``constraints_func``: ``cost - bound`` per bounded cost (<= 0 is feasible).

    Parameters
    ----------
    bounds : dict of str to float
        Upper bounds of costs.
    """

    def __init__(self, bounds: Mapping[str, float]) -> None:
        self.bounds = dict(bounds)

    def __call__(self, trial: FrozenTrial) -> list[float]:
        """The constraint values of a finished trial (0 when it measured nothing)."""
        costs = trial.user_attrs.get(COSTS_ATTR, {})
        return [float(costs.get(n, b)) - b for n, b in self.bounds.items()]

    def record(self, trial: optuna.Trial, costs: Mapping[str, float]) -> None:
        """Record ``cost - bound`` on the running trial (Optuna >= 5; see ``_optuna_compat``)."""
        if self.bounds:
            record_constraints(trial, {n: float(costs[n]) - b for n, b in self.bounds.items()})


def make_search_sampler(
    strategy: Any,
    *,
    seed: int,
    search_space: SearchSpace,
    bounds: Mapping[str, float],
    n_objectives: int = 1,
) -> optuna.samplers.BaseSampler:
    """The strategy's sampler, with Optuna's constraint handling when it has one.

    Strategies in :data:`CONSTRAINED_STRATEGIES` use the constraints
    (Optuna >= 5 reads the values recorded on each trial by
    :meth:`CostConstraints.record`; on Optuna 4 their samplers are built with
    ``constraints_func``). Other strategy names search unconstrained (a
    warning says so) and the constraints then only filter the front and the
    refit; a sampler instance is used as given.
    """
    from sknas.samplers import make_sampler
    from sknas.samplers._registry import auto_strategy

    if isinstance(strategy, str) and strategy == "auto":
        strategy = auto_strategy(search_space, n_objectives)
    name = strategy
    if not bounds or not isinstance(name, str):
        return make_sampler(strategy, seed=seed, search_space=search_space)
    # Optuna >= 5 reads the constraints recorded on each trial (CostConstraints.record);
    # Optuna 4 takes them through the sampler's constraints_func.
    func = None if samplers_read_trial_constraints() else CostConstraints(bounds)
    if name in CONSTRAINED_STRATEGIES and func is None:
        return make_sampler(strategy, seed=seed, search_space=search_space)
    if name in ("tpe", "bohb", "motpe") and func is not None:
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=name != "motpe", n_startup_trials=10, constraints_func=func
        )
    if name == "nsga2" and func is not None:
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20, constraints_func=func)
    if name == "nsga3" and func is not None:
        return optuna.samplers.NSGAIIISampler(
            seed=seed, population_size=20, constraints_func=func
        )
    warnings.warn(  # on Optuna 4, lemonade and neural_architect cannot read the constraints
        f"strategy={strategy!r} has no constraint support: it searches without the "
        f"constraints, which then only filter pareto_front_ and the refit. Strategies that "
        f"use them while searching: {sorted(CONSTRAINED_STRATEGIES)}.",
        UserWarning,
        stacklevel=4,
    )
    return make_sampler(strategy, seed=seed, search_space=search_space)


def feasible(results: Mapping[str, Any], bounds: Mapping[str, float]) -> np.ndarray:
    """Which rows of ``cv_results_`` completed and meet every bound."""
    ok = np.asarray(results["state"] == "COMPLETE") & np.isfinite(
        np.asarray(results["mean_test_score"], dtype=float)
    )
    for name, bound in bounds.items():
        ok &= np.nan_to_num(np.asarray(results[f"cost_{name}"], dtype=float), nan=np.inf) <= bound
    return ok


def pareto_front(
    results: Mapping[str, Any], objectives: Sequence[str], bounds: Mapping[str, float]
) -> np.ndarray:
    """Indices into ``cv_results_`` of the non-dominated, feasible, distinct candidates.

    A candidate is on the front when no other completed candidate that meets
    ``bounds`` is at least as good in every objective and better in one.
    Repeated architectures (duplicates answered from an earlier trial) appear
    once, at their first trial.
    """
    rows = np.flatnonzero(feasible(results, bounds))
    if len(rows) == 0:
        return rows
    _, first = np.unique(np.asarray(results["architecture"])[rows].astype(str), return_index=True)
    rows = rows[np.sort(first)]
    losses = np.column_stack([
        -np.asarray(results["mean_test_score"], dtype=float)[rows] if n not in COSTS
        else np.asarray(results[f"cost_{n}"], dtype=float)[rows]
        for n in objectives
    ])
    return rows[pareto_mask(losses)].astype(np.intp)


def select_on_front(
    results: Mapping[str, Any],
    front: np.ndarray,
    bounds: Mapping[str, float],
) -> int:
    """The best-scoring front candidate that meets ``bounds`` (ties: fewer costs, first).

    Raises
    ------
    ValueError
        When no candidate of the front meets ``bounds``.
    """
    ok = feasible(results, bounds)
    candidates = [int(i) for i in front if ok[i]]
    if not candidates and len(front) == 0:
        raise ValueError(
            "No completed candidate meets the constraints, so the Pareto front is empty; "
            "loosen constraints= or search longer."
        )
    if not candidates:
        raise ValueError(
            f"No candidate on the Pareto front meets refit={dict(bounds)}; the front's "
            + ", ".join(
                f"{n} ranges {np.nanmin(results[f'cost_{n}'][front]):.4g}.."
                f"{np.nanmax(results[f'cost_{n}'][front]):.4g}"
                for n in bounds
            )
            + ". Loosen the bound, or search longer with constraints=."
        )
    scores = np.asarray(results["mean_test_score"], dtype=float)[candidates]
    best = [c for c, s in zip(candidates, scores) if s == scores.max()]
    return best[0]


class SearchObjectives:
    """What one search optimises, read from an estimator's settings.

    Parameters
    ----------
    estimator : BaseNAS
        Its ``objectives``, ``constraints``, ``refit`` and ``latency_batch_size``.

    Attributes
    ----------
    objectives : tuple of str
    constraints : dict of str to float
        ``constraints`` (searched with, where the sampler supports it).
    refit_bounds : dict of str to float
        ``refit`` when it is a dict of bounds.
    costs : tuple of str
        Costs measured for every candidate.
    """

    def __init__(self, estimator: Any) -> None:
        self.objectives = check_objectives(estimator.objectives)
        self.constraints = check_bounds(estimator.constraints, "constraints")
        refit = estimator.refit
        self.refit_bounds = check_bounds(refit, "refit") if isinstance(refit, Mapping) else {}
        self.costs = cost_names(self.objectives, self.constraints, self.refit_bounds)
        self.reward = reward_of(self.objectives[0])
        self.batch_size = int(getattr(estimator, "latency_batch_size", 1))

    @property
    def multi(self) -> bool:
        """Whether the study has several objectives."""
        return len(self.objectives) > 1

    def meter(
        self,
        space: SearchSpace,
        n_features_in: int,
        n_outputs: int,
        device: str,
        build: Callable[[Architecture], Any] | None = None,
    ) -> CostMeter:
        """The :class:`CostMeter` of this search."""
        return CostMeter(
            space, n_features_in, n_outputs, self.costs, device=device,
            batch_size=self.batch_size, build=build,
        )

    def values(self, score: float, costs: Mapping[str, float]) -> float | list[float]:
        """The value(s) told to the study for a candidate."""
        if self.reward is not None:
            return self.reward(score, costs["latency"])
        if not self.multi:
            return score
        return [score, *(float(costs[n]) for n in self.objectives[1:])]

    def best_index(self, results: Mapping[str, Any], front: np.ndarray) -> int | None:
        """The refit choice among the front, or None to use the plain best score."""
        bounds = {**self.constraints, **self.refit_bounds}
        if not (self.multi or bounds):
            return None
        return select_on_front(results, front, bounds)


def check_search_objectives(estimator: Any) -> SearchObjectives:
    """Check ``objectives``, ``constraints``, ``refit`` and ``pruner`` together, before any work.

    Raises
    ------
    ValueError
        On an invalid setting, or an explicit pruner in a multi-objective search.
    """
    goals = SearchObjectives(estimator)
    from sknas.oneshot import is_oneshot

    if is_oneshot(estimator.strategy) and (goals.multi or goals.reward is not None):
        raise ValueError(
            f"objectives={goals.objectives} needs a black-box strategy: the one-shot "
            f"strategy {estimator.strategy!r} trains one supernet for the score alone. "
            "Use strategy='motpe', 'nsga2', 'lemonade' or 'neural_architect' (several "
            "objectives) or any sampler (a MnasNet reward)."
        )
    pruner = estimator.pruner
    if goals.multi and pruner is not None and not (isinstance(pruner, str) and pruner == "auto"):
        raise ValueError(
            f"pruner={pruner!r} cannot be used with objectives={goals.objectives}: Optuna does "
            "not prune multi-objective trials. Use pruner='auto' (no pruning) or None."
        )
    return goals
