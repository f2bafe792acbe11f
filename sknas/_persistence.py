"""Model files that hold weights and a JSON description, never pickled code.

A model file is one zip archive with two members:

``model.json``
    The description: a format marker (``"format": "sknas-model"``) and
    version, the sknas version that wrote it, the estimator's class and its
    JSON-representable parameters, the search space (registered name, or class
    path for a custom space, and its ``get_params()``), the best
    architecture's parameters, ``n_features_in_``, ``feature_names_in_``,
    ``classes_``, ``n_outputs_``, the image shape (for image input), the fitted
    input preprocessing (missing-value
    fills, one-hot categories), the network's dtype, ``best_score_``,
    ``best_index_`` and ``cv_results_``.
``weights.pt``
    The refit network's ``state_dict`` (input and target scaling included),
    written by ``torch.save``; ``torch.load(..., weights_only=True)`` reads it.

:func:`load` rebuilds the network from the search space and the architecture,
loads the weights, and returns a fitted estimator that predicts as the saved
one did. Nothing in the file is executed: a custom search space is never
imported from the file, it is passed to :func:`load` by the caller.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from sknas.estimators.base import BaseNAS
    from sknas.spaces.base import SearchSpace

__all__ = ["ModelFileError", "save_model", "load", "FORMAT", "FORMAT_VERSION"]

#: Marker in ``model.json`` of every sknas model file.
FORMAT = "sknas-model"
#: Version of the layout; :func:`load` refuses newer versions.
FORMAT_VERSION = 1
MANIFEST = "model.json"
WEIGHTS = "weights.pt"


class ModelFileError(ValueError):
    """A file is not a readable sknas model file (corrupt, foreign or too new)."""


# -- JSON helpers ----------------------------------------------------------------------
def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _encode_array(values: Any) -> dict[str, Any]:
    if isinstance(values, np.ma.MaskedArray):
        data = [None if masked else _scalar(v) for v, masked in
                zip(values.data.tolist(), np.ma.getmaskarray(values).tolist())]
        return {"kind": "masked", "values": data}
    array = np.asarray(values)
    return {
        "kind": "array",
        "dtype": "object" if array.dtype.kind == "O" else array.dtype.str,
        "values": [_scalar(v) for v in array.tolist()],
    }


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _decode_array(spec: dict[str, Any]) -> Any:
    values = spec["values"]
    if spec["kind"] == "masked":
        data = np.empty(len(values), dtype=object)
        data[:] = values
        return np.ma.MaskedArray(data, mask=[v is None for v in values])
    dtype = np.dtype(object if spec["dtype"] == "object" else spec["dtype"])
    if dtype.kind == "f":
        values = [np.nan if v is None else float(v) for v in values]
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.asarray(values, dtype=dtype)


def _encode_cv_results(results: dict[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for key, values in results.items():
        if key == "params":
            encoded[key] = {"kind": "list", "values": list(values)}
        else:
            encoded[key] = _encode_array(values)
    return encoded


def _decode_cv_results(encoded: dict[str, Any]) -> dict[str, Any]:
    return {
        key: list(spec["values"]) if spec["kind"] == "list" else _decode_array(spec)
        for key, spec in encoded.items()
    }


# -- preprocessing (scikit-learn transformers, written with skops.io) ------------------
def _dump_preprocessor(preprocessor: Any, missing_values: str) -> dict[str, str]:
    import skops.io

    encoded = base64.b64encode(skops.io.dumps(preprocessor)).decode("ascii")
    return {"missing_values": missing_values, "skops": encoded}


def _load_preprocessor(description: dict[str, str]) -> Any:
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    from sknas.utils.preprocessing import PREPROCESSING_TYPES

    try:
        data = base64.b64decode(description["skops"])
        return skops.io.loads(data, trusted=list(PREPROCESSING_TYPES))
    except (UntrustedTypesFoundException, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"The saved preprocessing cannot be read safely: {exc}") from exc


# -- saving --------------------------------------------------------------------------
def _space_description(space: SearchSpace) -> dict[str, Any]:
    from sknas.spaces._registry import SPACES

    path = f"{type(space).__module__}:{type(space).__qualname__}"
    registered = [name for name, target in SPACES.items() if target == path]
    params = space.get_params(deep=False)
    return {
        "name": registered[0] if registered else None,
        "class": path,
        "params": params if _is_json(params) else None,
    }


def save_model(estimator: BaseNAS, path: str | os.PathLike) -> Path:
    """Write a fitted estimator's model file (see the module's description).

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted with ``refit=True``.
    path : str or path-like
        Where to write; an existing file is replaced (atomically).

    Returns
    -------
    Path
    """
    import torch

    from sknas import __version__

    net = estimator._check_refitted("save")
    state = {name: tensor.detach().cpu() for name, tensor in net.module_.state_dict().items()}
    dtype = next(iter(state.values())).dtype if state else torch.float32
    params = estimator.get_params(deep=False)
    kept = {name: value for name, value in params.items() if _is_json(value)}
    classes = getattr(estimator, "classes_", None)
    image_shape = getattr(estimator, "image_shape_", None)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sknas_version": __version__,
        "estimator": type(estimator).__name__,
        "params": kept,
        "omitted_params": sorted(set(params) - set(kept)),
        "search_space": _space_description(estimator.search_space_),
        "architecture": {
            "params": estimator.best_params_,
            "key": estimator.best_architecture_.key(),
            "description": str(estimator.best_architecture_),
        },
        "n_features_in": int(estimator.n_features_in_),
        "feature_names_in": (
            [str(n) for n in estimator.feature_names_in_]
            if hasattr(estimator, "feature_names_in_") else None
        ),
        "classes": None if classes is None else _encode_array(classes),
        "n_outputs": int(estimator.n_outputs_),
        "image_shape": None if image_shape is None else [int(v) for v in image_shape],
        "y_was_1d": bool(getattr(estimator, "_y_was_1d", True)),
        "preprocessing": _dump_preprocessor(estimator.preprocessor_, estimator.missing_values),
        "network": {"dtype": str(dtype).replace("torch.", ""), "task": estimator._task},
        "best_score": _scalar(float(estimator.best_score_)),
        "best_index": int(estimator.best_index_),
        "n_trials": int(estimator.n_trials_),
        "refit_time": float(getattr(estimator, "refit_time_", 0.0)),
        "cv_results": _encode_cv_results(estimator.cv_results_),
    }
    weights = io.BytesIO()
    torch.save(state, weights)
    target = Path(path)
    descriptor, tmp_name = tempfile.mkstemp(dir=target.parent or ".", prefix=".sknas-")
    try:
        with os.fdopen(descriptor, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(
                MANIFEST, json.dumps(manifest, indent=1, allow_nan=False),
                compress_type=zipfile.ZIP_DEFLATED,
            )
            archive.writestr(WEIGHTS, weights.getvalue(), compress_type=zipfile.ZIP_STORED)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


# -- loading -------------------------------------------------------------------------
def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if MANIFEST not in names or WEIGHTS not in names:
                raise ModelFileError(
                    f"{path} is not an sknas model file: it lacks "
                    f"{' and '.join(sorted({MANIFEST, WEIGHTS} - names))}."
                )
            raw_manifest = archive.read(MANIFEST)
            weights = archive.read(WEIGHTS)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{path} is not an sknas model file (not a zip archive).") from exc
    except (zipfile.LargeZipFile, OSError, EOFError, RuntimeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ModelFileError(f"{path} is corrupt: {exc}") from exc
    try:
        manifest = json.loads(raw_manifest.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} is corrupt: {MANIFEST} is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not an sknas model file (no {FORMAT!r} format marker in {MANIFEST})."
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {version!r}, written by sknas "
            f"{manifest.get('sknas_version', '?')}; this sknas reads versions up to "
            f"{FORMAT_VERSION}. Upgrade sknas to load it."
        )
    return manifest, weights


def _rebuild_space(manifest: dict[str, Any], search_space: SearchSpace | None) -> SearchSpace:
    from sklearn.base import clone

    from sknas.spaces._registry import make_search_space

    description = manifest["search_space"]
    if search_space is not None:
        return clone(search_space)
    if description["name"] is None:
        raise ModelFileError(
            f"The model was found in the custom search space {description['class']}, which "
            "load does not import from a file: pass it as load(path, search_space=...)."
        )
    space = make_search_space(description["name"])
    if description["params"] is not None:
        params = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in description["params"].items()
        }
        space.set_params(**params)
    return space


def _rebuild_net(
    manifest: dict[str, Any], space: SearchSpace, arch: Any, n_inputs: int, state: dict
) -> Any:
    import torch

    from sknas.evaluation.training import TrainingEvaluator

    task = manifest["network"]["task"]
    n_outputs = int(manifest["n_outputs"])
    evaluator = TrainingEvaluator(
        space, task=task, n_outputs=n_outputs, scorer=lambda *a: 0.0, splits=[],
        max_epochs=1, patience=1, device="cpu",
    )
    X = np.zeros((2, n_inputs), dtype=np.float32)
    if task == "classification":
        y: np.ndarray = np.zeros(2, dtype=np.int64)
    else:
        y = np.zeros((2, n_outputs), dtype=np.float32)
    with evaluator._seeded(0):  # building initialises weights: keep torch's global RNG intact
        net = evaluator.build_net(arch, X, y, seed=0, max_epochs=1).initialize()
    if manifest["network"]["dtype"] == "float64":
        net.module_.double()
    try:
        net.module_.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelFileError(f"The weights do not fit the described network: {exc}") from exc
    if not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise ModelFileError("The weights file holds values that are not tensors.")
    return net


def load(path: str | os.PathLike, *, search_space: SearchSpace | None = None) -> BaseNAS:
    """Load a model file written by ``NASClassifier.save`` or ``NASRegressor.save``.

    Parameters
    ----------
    path : str or path-like
        The model file.
    search_space : SearchSpace, optional
        Needed only when the model was searched in a custom (not registered)
        search space: an instance configured as during the search.

    Returns
    -------
    NASClassifier or NASRegressor
        A fitted estimator: ``predict``, ``predict_proba``, ``score``,
        ``best_estimator_``, ``best_architecture_``, ``cv_results_``,
        ``feature_names_in_`` and ``classes_`` as saved. The network is on the
        CPU; ``study_`` is not part of the file (keep the study in an Optuna
        storage to analyse it later). Parameters that could not be written as
        JSON (e.g. a sampler instance) have their default values.

    Raises
    ------
    ModelFileError
        The file is corrupt, not an sknas model file, or written by a newer sknas.
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import sknas
    >>> clf.save("model.sknas")                            # doctest: +SKIP
    >>> sknas.load("model.sknas").predict(X)               # doctest: +SKIP
    """
    import torch

    from sknas.estimators import NASClassifier, NASRegressor

    path = Path(path)
    manifest, weights = _read(path)
    classes_by_name = {"NASClassifier": NASClassifier, "NASRegressor": NASRegressor}
    try:
        estimator_class = classes_by_name.get(manifest["estimator"])
        if estimator_class is None:
            raise ModelFileError(f"{path} holds an unknown estimator {manifest['estimator']!r}.")
        try:
            state = torch.load(io.BytesIO(weights), weights_only=True, map_location="cpu")
        except Exception as exc:
            raise ModelFileError(f"{path} is corrupt: its weights cannot be read ({exc}).") from exc
        if not isinstance(state, dict):
            raise ModelFileError(f"{path} is corrupt: its weights are not a state_dict.")
        space = _rebuild_space(manifest, search_space)
        arch = space.decode(manifest["architecture"]["params"])
        if arch.key() != manifest["architecture"]["key"]:
            raise ModelFileError(
                f"The search space builds {arch.key()!r} from the saved parameters, but the "
                f"model holds {manifest['architecture']['key']!r}: the space differs from the "
                "one used for the search."
            )
        preprocessor = _load_preprocessor(manifest["preprocessing"])
        n_inputs = len(preprocessor.get_feature_names_out())
        net = _rebuild_net(manifest, space, arch, n_inputs, state)
        params = dict(manifest["params"])
        if "search_space" not in params:  # an instance: the rebuilt one stands in for it
            params["search_space"] = space
        estimator = estimator_class(**params)
        estimator.best_estimator_ = net
        estimator.search_space_ = space
        estimator.best_architecture_ = arch
        estimator.best_params_ = dict(manifest["architecture"]["params"])
        best_score = manifest["best_score"]
        estimator.best_score_ = float("nan") if best_score is None else float(best_score)
        estimator.best_index_ = int(manifest["best_index"])
        estimator.n_trials_ = int(manifest["n_trials"])
        estimator.refit_time_ = float(manifest["refit_time"])
        estimator.cv_results_ = _decode_cv_results(manifest["cv_results"])
        estimator.n_features_in_ = int(manifest["n_features_in"])
        if manifest["feature_names_in"] is not None:
            estimator.feature_names_in_ = np.asarray(manifest["feature_names_in"], dtype=object)
        if manifest["classes"] is not None:
            estimator.classes_ = _decode_array(manifest["classes"])
        estimator.n_outputs_ = int(manifest["n_outputs"])
        if estimator_class is NASRegressor:
            estimator._y_was_1d = bool(manifest["y_was_1d"])
        estimator.preprocessor_ = preprocessor
        image_shape = manifest.get("image_shape")
        estimator.image_shape_ = None if image_shape is None else tuple(image_shape)
        estimator.device_ = "cpu"
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(
            f"{path} is corrupt: its description is incomplete or invalid "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return estimator
