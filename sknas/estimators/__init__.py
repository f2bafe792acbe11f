"""scikit-learn estimators that search neural architectures."""

from sknas.estimators._loading import load
from sknas.estimators.base import BaseNAS, SearchFailedError
from sknas.estimators.classifier import NASClassifier
from sknas.estimators.regressor import NASRegressor

__all__ = ["BaseNAS", "NASClassifier", "NASRegressor", "SearchFailedError", "load"]
