"""``sknas.load``: a fitted estimator from its model file."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sknas.estimators._persistence import load_model
from sknas.estimators.base import BaseNAS
from sknas.estimators.classifier import NASClassifier
from sknas.estimators.regressor import NASRegressor

if TYPE_CHECKING:  # pragma: no cover
    from sknas.spaces.base import SearchSpace

__all__ = ["load"]

#: The only estimator classes a model file may name.
_ESTIMATORS = {"NASClassifier": NASClassifier, "NASRegressor": NASRegressor}


def load(path: str | os.PathLike, *, search_space: SearchSpace | None = None) -> BaseNAS:
    """Load a model file written by ``NASClassifier.save`` or ``NASRegressor.save``.

    Nothing in the file is executed or unpickled: the weights are read with
    ``torch.load(..., weights_only=True)``, the preprocessing with ``skops.io``
    and an explicit list of trusted scikit-learn types, and the file is checked
    (sizes, digests, shapes, consistency of its fields) before the network is
    allocated.

    Parameters
    ----------
    path : str or path-like
        The model file.
    search_space : SearchSpace, optional
        Needed only when the model was searched in a custom (not registered)
        search space: an instance configured as during the search. A custom
        space is never imported from the file.

    Returns
    -------
    NASClassifier or NASRegressor
        A fitted estimator: ``predict``, ``predict_proba``, ``score``,
        ``best_estimator_``, ``best_architecture_``, ``cv_results_``,
        ``feature_names_in_`` and ``classes_`` as saved. The network is on the
        CPU; ``study_`` is not part of the file (keep the study in an Optuna
        storage to analyse it later). Environment settings (``storage``,
        ``study_name``, ``device``, ``n_jobs``, ``n_threads``, ``verbose``)
        and parameters that could not be written as JSON (e.g. a sampler
        instance) have their default values.

    Raises
    ------
    ModelFileError
        The file is corrupt, edited, too large, not an sknas model file, or
        written by a newer sknas.
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import sknas
    >>> clf.save("model.sknas")                            # doctest: +SKIP
    >>> sknas.load("model.sknas").predict(X)               # doctest: +SKIP
    """
    return load_model(path, _ESTIMATORS, search_space)
