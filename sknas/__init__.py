"""sknas: neural architecture search as a scikit-learn estimator."""

from sknas._model_file import ModelFileError
from sknas.estimators import NASClassifier, NASRegressor, SearchFailedError, load

__version__ = "0.1.0"

__all__ = [
    "ModelFileError",
    "NASClassifier",
    "NASRegressor",
    "SearchFailedError",
    "__version__",
    "load",
]
