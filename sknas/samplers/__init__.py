"""Search strategies, each an Optuna sampler.

Importing this package does not import torch or botorch; the model-based
strategies import them when they first propose.
"""

from sknas.samplers._registry import (
    STRATEGIES,
    default_pruner,
    make_sampler,
    register_strategy,
    strategy_names,
)
from sknas.samplers.bananas import BananasSampler
from sknas.samplers.evolution import RegularizedEvolutionSampler
from sknas.samplers.gp import GPBOSampler
from sknas.samplers.hvi import HypervolumeImprovementSampler
from sknas.samplers.lemonade import LemonadeSampler
from sknas.samplers.local_search import LocalSearchSampler
from sknas.samplers.morphism import MorphismSampler
from sknas.samplers.neural_architect import NeuralArchitectSampler
from sknas.samplers.reinforce import ReinforceSampler

__all__ = [
    "STRATEGIES",
    "default_pruner",
    "make_sampler",
    "register_strategy",
    "strategy_names",
    "BananasSampler",
    "GPBOSampler",
    "HypervolumeImprovementSampler",
    "LemonadeSampler",
    "LocalSearchSampler",
    "MorphismSampler",
    "NeuralArchitectSampler",
    "RegularizedEvolutionSampler",
    "ReinforceSampler",
]
