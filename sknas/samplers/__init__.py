"""Search strategies, each an Optuna sampler."""

from sknas.samplers._registry import (
    STRATEGIES,
    STRATEGY_NAMES,
    make_sampler,
    register_strategy,
)

__all__ = ["STRATEGIES", "STRATEGY_NAMES", "make_sampler", "register_strategy"]
