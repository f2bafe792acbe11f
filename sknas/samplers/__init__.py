"""Search strategies, each an Optuna sampler."""

from sknas.samplers._registry import STRATEGIES, make_sampler, register_strategy

__all__ = ["STRATEGIES", "make_sampler", "register_strategy"]
