"""sknas: neural architecture search as a scikit-learn estimator."""

from sknas._persistence import ModelFileError, load
from sknas.estimators import NASClassifier, NASRegressor, SearchFailedError

__version__ = "0.1.0"

__all__ = [
    "ModelFileError",
    "NASClassifier",
    "NASRegressor",
    "SearchFailedError",
    "__version__",
    "load",
]
