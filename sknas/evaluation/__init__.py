"""Performance estimation: how good a candidate is, cheaply."""

from sknas.evaluation.pruners import PRUNER_NAMES, REDUCTION_FACTOR, make_pruner
from sknas.evaluation.training import DEFAULT_TRAINING, EvaluationResult, TrainingEvaluator

__all__ = [
    "DEFAULT_TRAINING",
    "EvaluationResult",
    "PRUNER_NAMES",
    "REDUCTION_FACTOR",
    "TrainingEvaluator",
    "make_pruner",
]
