"""Performance estimation: how good a candidate is, cheaply."""

from sknas.evaluation.training import DEFAULT_TRAINING, EvaluationResult, TrainingEvaluator

__all__ = ["DEFAULT_TRAINING", "EvaluationResult", "TrainingEvaluator"]
