"""What a stored study was built for, and the check that a resumed fit matches it.

When ``fit`` creates or loads a study in a storage, the study records (as a
JSON study user attribute) the task, the estimator class, the search space,
the feature count and names, the outputs or classes, the scoring and a
fingerprint of the training data. A later ``fit`` on the same study resumes
it only when all of these match; otherwise it is refused before any
training, so trials of different problems are never mixed.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from sknas.spaces._description import describe_space

if TYPE_CHECKING:  # pragma: no cover
    from sknas.estimators.base import BaseNAS
    from sknas.spaces.base import SearchSpace

__all__ = ["RECORD_ATTR", "study_record", "check_or_record"]

#: Study user attribute holding the JSON record.
RECORD_ATTR = "sknas:record"
_FIELDS = (
    "task", "estimator", "search_space", "n_features", "feature_names", "n_outputs",
    "classes", "scoring", "data",
)


def data_fingerprint(X: np.ndarray, y: np.ndarray, sample_weight: Any = None) -> str:
    """SHA-256 of the checked inputs, encoded targets and weights (bytes, dtypes and shapes)."""
    digest = hashlib.sha256()
    for array in (X, y) if sample_weight is None else (X, y, sample_weight):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """``value`` as JSON gives it back; anything else by its ``repr``."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return repr(value)


def _scoring_name(scoring: Any) -> Any:
    if scoring is None or isinstance(scoring, str):
        return scoring
    module = getattr(scoring, "__module__", "?")
    return f"{module}.{getattr(scoring, '__qualname__', repr(scoring))}"


def study_record(
    estimator: BaseNAS,
    space: SearchSpace,
    X: np.ndarray,
    y: np.ndarray,
    n_outputs: int,
    sample_weight: np.ndarray | None = None,
) -> dict[str, Any]:
    """What a study is built for: the fields a resumed ``fit`` must match.

    Parameters
    ----------
    estimator : BaseNAS
        The estimator being fitted (after its data were validated).
    space : SearchSpace
        The resolved search space.
    X, y : ndarray
        The checked inputs and encoded targets the candidates train on.
    n_outputs : int
        Classes or targets.
    sample_weight : ndarray, optional
        The rows' weights (part of the data's fingerprint).

    Returns
    -------
    dict
        JSON-representable.
    """
    names = getattr(estimator, "feature_names_in_", None)
    classes = getattr(estimator, "classes_", None)
    return _plain(
        {
            "task": estimator._task,
            "estimator": type(estimator).__name__,
            "search_space": describe_space(space),
            "n_features": int(getattr(estimator, "n_features_in_", None) or X.shape[1]),
            "feature_names": None if names is None else [str(n) for n in names],
            "n_outputs": int(n_outputs),
            "classes": None if classes is None else _plain(np.asarray(classes).tolist()),
            "scoring": _scoring_name(estimator.scoring),
            "data": data_fingerprint(X, y, sample_weight),
        }
    )


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


def _differences(path: str, stored: Any, current: Any) -> list[str]:
    """One line per leaf that differs (nested dicts, such as the space's parameters, by key)."""
    if stored == current:
        return []
    if isinstance(stored, dict) and isinstance(current, dict):
        if "class" in stored and stored.get("class") != current.get("class"):
            return [f"{path}: the study has {stored['class']}, this fit has {current.get('class')}"]
        keys = sorted(set(stored) | set(current))
        return [
            line for key in keys for line in _differences(f"{path}.{key}", stored.get(key),
                                                          current.get(key))
        ]
    if path == "data":
        return ["data: the training data differ (other values, same shape or not)"]
    return [f"{path}: the study has {_short(stored)}, this fit has {_short(current)}"]


def check_or_record(study: optuna.Study, record: dict[str, Any], storage_name: str) -> None:
    """Record what ``study`` is built for, or check that it matches ``record``.

    Parameters
    ----------
    study : optuna.Study
        The study ``fit`` created or loaded.
    record : dict
        :func:`study_record` of this fit.
    storage_name : str
        The storage as messages name it (password hidden).

    Raises
    ------
    ValueError
        When the study was built for something else (each differing field is
        named), or holds trials but no record (a study sknas did not create).
    """
    stored = study.user_attrs.get(RECORD_ATTR)
    where = f"The study {study.study_name!r} in the storage {storage_name}"
    advice = (
        "Use another study_name for this search, or delete the old study "
        "(optuna.delete_study) to start it afresh."
    )
    if stored is None:
        if study.get_trials(deepcopy=False):
            raise ValueError(
                f"{where} holds trials but no record of what it was built for (it was not "
                f"created by sknas fit): refusing to resume it. {advice}"
            )
        study.set_user_attr(RECORD_ATTR, record)
        return
    if not isinstance(stored, dict):
        raise ValueError(f"{where} holds a malformed record of what it was built for. {advice}")
    differences = [
        line for field in _FIELDS for line in _differences(field, stored.get(field),
                                                           record.get(field))
    ]
    if differences:
        raise ValueError(
            f"{where} was built for another search; refusing to resume it with this fit. "
            f"What differs: {'; '.join(differences)}. {advice}"
        )
