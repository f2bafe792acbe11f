"""Search strategies, each an Optuna sampler.

Importing this package does not import torch or botorch; the model-based
strategies import them when they first propose.
"""

from sknas.samplers._registry import (
    STRATEGIES,
    STRATEGY_NAMES,
    make_sampler,
    register_strategy,
)
from sknas.samplers.bananas import BananasSampler
from sknas.samplers.evolution import RegularizedEvolutionSampler
from sknas.samplers.gp import GPBOSampler
from sknas.samplers.local_search import LocalSearchSampler
from sknas.samplers.reinforce import ReinforceSampler

__all__ = [
    "STRATEGIES",
    "STRATEGY_NAMES",
    "make_sampler",
    "register_strategy",
    "BananasSampler",
    "GPBOSampler",
    "LocalSearchSampler",
    "RegularizedEvolutionSampler",
    "ReinforceSampler",
]
