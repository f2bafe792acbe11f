"""Strategy names -> Optuna samplers."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from types import MappingProxyType

import optuna

from sknas.spaces.base import SearchSpace

__all__ = [
    "BOHB_STARTUP_TRIALS",
    "STRATEGIES",
    "auto_strategy",
    "default_pruner",
    "make_sampler",
    "register_strategy",
    "strategy_names",
]

SamplerFactory = Callable[[int | None, SearchSpace | None], optuna.samplers.BaseSampler]


def _random(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _tpe(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=10)


#: Random proposals per Hyperband bracket before ``"bohb"``'s TPE models that bracket.
#: Optuna's TPE sees only the trials of the current trial's bracket when the study's
#: pruner is a ``HyperbandPruner``, so its startup is paid once per bracket (Optuna's
#: note on ``HyperbandPruner``: 4 brackets x 10 startup trials = 40 trials). Half of
#: ``"tpe"``'s 10 keeps the startup of the default 4 brackets at about 20 candidates,
#: which cheap pruned candidates pay for quickly.
BOHB_STARTUP_TRIALS = 5


def _bohb(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(
        seed=seed, multivariate=True, n_startup_trials=BOHB_STARTUP_TRIALS
    )


def _evolution(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    from sknas.samplers.evolution import RegularizedEvolutionSampler

    return RegularizedEvolutionSampler(seed=seed, search_space=space)


def _reinforce(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    from sknas.samplers.reinforce import ReinforceSampler

    return ReinforceSampler(seed=seed, search_space=space)


def _bananas(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    from sknas.samplers.bananas import BananasSampler

    return BananasSampler(seed=seed, search_space=space)


def _local_search(
    seed: int | None, space: SearchSpace | None
) -> optuna.samplers.BaseSampler:
    from sknas.samplers.local_search import LocalSearchSampler

    return LocalSearchSampler(seed=seed, search_space=space)


def _morphism(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    from sknas.samplers.morphism import MorphismSampler

    return MorphismSampler(seed=seed, search_space=space)


def _gp(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    from sknas.samplers.gp import GPBOSampler

    return GPBOSampler(seed=seed, search_space=space)


def _nsga2(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)


def _nsga3(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIIISampler(seed=seed, population_size=20)


def _motpe(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed)


def _lemonade(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    from sknas.samplers.lemonade import LemonadeSampler

    return LemonadeSampler(seed=seed, search_space=space)


def _neural_architect(
    seed: int | None, space: SearchSpace | None
) -> optuna.samplers.BaseSampler:
    from sknas.samplers.neural_architect import NeuralArchitectSampler

    return NeuralArchitectSampler(seed=seed, search_space=space)


def _hvi(seed: int | None, space: SearchSpace | None) -> optuna.samplers.BaseSampler:
    from sknas.samplers.hvi import HypervolumeImprovementSampler

    return HypervolumeImprovementSampler(seed=seed, search_space=space)


_FACTORIES: dict[str, SamplerFactory] = {
    "random": _random,
    "tpe": _tpe,
    "bohb": _bohb,
    "evolution": _evolution,
    "reinforce": _reinforce,
    "bananas": _bananas,
    "gp": _gp,
    "local_search": _local_search,
    "morphism": _morphism,
    "nsga2": _nsga2,
    "nsga3": _nsga3,
    "motpe": _motpe,
    "lemonade": _lemonade,
    "neural_architect": _neural_architect,
    "hvi": _hvi,
}

#: Registered strategy names and the factories that build their samplers (read-only:
#: :func:`register_strategy` adds one).
STRATEGIES: Mapping[str, SamplerFactory] = MappingProxyType(_FACTORIES)

#: Every valid ``strategy`` string. Parameter validation holds this very set, so
#: :func:`register_strategy` adds to it in place; read it through :func:`strategy_names`.
_VALID_NAMES: set[str] = {"auto", *_FACTORIES}

#: The pruner name ``pruner="auto"`` stands for with a strategy (others: ``"median"``).
_PRUNERS: dict[str, str] = {"bohb": "hyperband"}

#: The strategy ``"auto"`` resolves to when the search space names none.
AUTO_STRATEGY = "tpe"


#: The strategy ``"auto"`` resolves to in a multi-objective study, whatever the space.
AUTO_MULTI_OBJECTIVE_STRATEGY = "hvi"


def auto_strategy(search_space: SearchSpace | None, n_objectives: int = 1) -> str:
    """The strategy ``"auto"`` stands for.

    With several objectives :data:`AUTO_MULTI_OBJECTIVE_STRATEGY`; otherwise the
    space's ``default_strategy``, else TPE.
    """
    if n_objectives > 1:
        return AUTO_MULTI_OBJECTIVE_STRATEGY
    name = search_space.default_strategy if search_space is not None else None
    return name if isinstance(name, str) and name in STRATEGIES else AUTO_STRATEGY


def strategy_names() -> frozenset[str]:
    """Every valid ``strategy`` string: ``"auto"`` and the registered names.

    Returns
    -------
    frozenset of str

    Examples
    --------
    >>> sorted(strategy_names())[:3]
    ['auto', 'bananas', 'bohb']
    """
    return frozenset(_VALID_NAMES)


def default_pruner(strategy: str | optuna.samplers.BaseSampler) -> str:
    """The pruner name that the estimators' ``pruner="auto"`` stands for with ``strategy``.

    Parameters
    ----------
    strategy : str or optuna.samplers.BaseSampler
        A strategy setting.

    Returns
    -------
    str
        ``"hyperband"`` for ``"bohb"`` (or a strategy registered with a pruner),
        ``"median"`` otherwise.

    Examples
    --------
    >>> default_pruner("bohb"), default_pruner("tpe")
    ('hyperband', 'median')
    """
    return _PRUNERS.get(strategy, "median") if isinstance(strategy, str) else "median"


def register_strategy(name: str, factory: SamplerFactory, *, pruner: str | None = None) -> None:
    """Make ``strategy=name`` available to estimators and benchmarks.

    Parameters
    ----------
    name : str
        The strategy's name.
    factory : callable
        ``factory(seed, search_space)`` returns a new sampler.
    pruner : {"median", "hyperband", "asha"}, optional
        The pruner that ``pruner="auto"`` stands for with this strategy
        (``"median"`` when not given); an explicit ``pruner`` still wins.
    """
    from sknas.evaluation.pruners import PRUNER_NAMES

    if pruner is not None and (pruner not in PRUNER_NAMES or pruner == "auto"):
        raise ValueError(
            f"pruner must be one of {sorted(PRUNER_NAMES - {'auto'})} or None; got {pruner!r}."
        )
    if not isinstance(name, str) or not name or name == "auto":
        raise ValueError(
            f"A strategy name must be a non-empty string other than 'auto'; got {name!r}."
        )
    if not callable(factory):
        raise TypeError(
            f"factory must be callable as factory(seed, search_space); got {factory!r}."
        )
    _FACTORIES[name] = factory
    _VALID_NAMES.add(name)
    if pruner is None:
        _PRUNERS.pop(name, None)
    else:
        _PRUNERS[name] = pruner


def make_sampler(
    strategy: str | optuna.samplers.BaseSampler,
    *,
    seed: int | None = None,
    search_space: SearchSpace | None = None,
    n_objectives: int = 1,
) -> optuna.samplers.BaseSampler:
    """Build the sampler of a strategy name, or copy a sampler instance.

    Parameters
    ----------
    strategy : str or optuna.samplers.BaseSampler
        ``"auto"`` (the search space's ``default_strategy``: ``"local_search"``
        for NAS-Bench-201 cells, ``"tpe"`` for MLPs and without a space), a
        name in :data:`STRATEGIES`, or a sampler (deep-copied, so the caller's
        instance is left untouched).
    seed : int, optional
        Seed of a sampler built from a name.
    search_space : SearchSpace, optional
        Passed to architecture-aware samplers.
    n_objectives : int, default=1
        Objectives of the study; with several, ``"auto"`` is
        :data:`AUTO_MULTI_OBJECTIVE_STRATEGY` (``"hvi"``).

    Returns
    -------
    optuna.samplers.BaseSampler
    """
    if isinstance(strategy, optuna.samplers.BaseSampler):
        return copy.deepcopy(strategy)
    name = auto_strategy(search_space, n_objectives) if strategy == "auto" else strategy
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {strategy!r}; valid names are "
            f"{['auto', *sorted(STRATEGIES)]} or an optuna.samplers.BaseSampler instance."
        )
    return STRATEGIES[name](seed, search_space)
