"""Model files of fitted estimators: weights, preprocessing and a JSON description, never pickle.

A model file (see :mod:`sknas._model_file` for the container and its limits)
holds three members:

``model.json``
    The description: the sknas version that wrote it, the estimator's class and
    its parameters (environment settings such as ``storage``, ``study_name``,
    ``device``, ``n_jobs`` are never written; a loaded estimator has their
    defaults), the search space (registered name, or class path for a custom
    space, and its ``get_params()``), the best architecture, the data's
    description (``n_features_in_``, ``feature_names_in_``, ``classes_``,
    ``n_outputs_``, image or sequence shape), the network's task, dtype, input width and
    parameter count, the search's results (``best_score_``, ``best_index_``,
    ``cv_results_``) and SHA-256 digests of every member.
``weights.pt``
    The refit network's ``state_dict``, written by ``torch.save`` and read with
    ``torch.load(..., weights_only=True)``.
``preprocessor.skops``
    The fitted scikit-learn preprocessing (``preprocessor_``), written by
    ``skops.io`` and read with an explicit list of trusted types.
``member_1.pt``, ``member_2.pt``, ...
    With ``ensemble_size > 1``: the ``state_dict`` of every ensemble member
    other than the best network (which is ``weights.pt``); ``model.json``
    lists each member's architecture, weight and file under ``"ensemble"``.

:func:`load` verifies the file before it allocates anything: sizes against
:data:`sknas._model_file.LIMITS`, the digests, the networks' shapes (built on
torch's meta device, which allocates no memory) against the weights, and every
field against the others (features, classes, outputs, estimator kind).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sknas._model_file import LIMITS, ModelFileError, read_model_file, write_model_file
from sknas.spaces._description import describe_space

if TYPE_CHECKING:  # pragma: no cover
    from sknas.estimators.base import BaseNAS
    from sknas.spaces.base import SearchSpace

__all__ = ["ENVIRONMENT_PARAMS", "load_model", "save_model"]

WEIGHTS = "weights.pt"
PREPROCESSOR = "preprocessor.skops"
#: Parameters that describe where and how a search ran, not the model: never written.
ENVIRONMENT_PARAMS = frozenset(
    {"storage", "study_name", "device", "n_jobs", "n_threads", "verbose"}
)
#: What skops.io and torch.load raise on bytes that are not what they read.
_SKOPS_ERRORS = (
    ValueError, TypeError, KeyError, AttributeError, ImportError, OSError, zipfile.BadZipFile,
)
_TORCH_LOAD_ERRORS = (
    pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError,
    KeyError, ImportError, OSError,
)
_TASKS = {"NASClassifier": "classification", "NASRegressor": "regression"}


# -- JSON helpers ----------------------------------------------------------------------
def _is_json(value: Any) -> bool:
    if isinstance(value, dict) and not all(isinstance(key, str) for key in value):
        return False  # JSON would turn the keys into strings (class_weight={0: 2.0})
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


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


def _decode_array(spec: dict[str, Any]) -> Any:
    values = spec["values"]
    if not isinstance(values, list) or len(values) > LIMITS["arrays"]:
        raise ValueError("an array of the description is not a list within the size limit")
    if spec["kind"] == "masked":
        data = np.empty(len(values), dtype=object)
        data[:] = values
        return np.ma.MaskedArray(data, mask=[v is None for v in values])
    dtype = np.dtype(object if spec["dtype"] == "object" else spec["dtype"])
    if dtype.kind not in "biufUO":
        raise ValueError(f"arrays of dtype {dtype} are not part of a model file")
    if dtype.kind == "f":
        values = [np.nan if v is None else float(v) for v in values]
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.asarray(values, dtype=dtype)


def _encode_cv_results(results: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {"kind": "list", "values": list(values)} if key == "params"
        else _encode_array(values)
        for key, values in results.items()
    }


def _decode_cv_results(encoded: dict[str, Any]) -> dict[str, Any]:
    if len(encoded) > LIMITS["arrays"]:
        raise ValueError("cv_results has more columns than a model file may hold")
    return {
        key: list(spec["values"]) if spec["kind"] == "list" else _decode_array(spec)
        for key, spec in encoded.items()
    }


# -- search spaces -------------------------------------------------------------------
def _rebuild_space(description: dict[str, Any], search_space: SearchSpace | None) -> SearchSpace:
    from sklearn.base import clone

    from sknas.spaces._description import rebuild_space

    if search_space is not None:
        return clone(search_space)
    if description.get("name") is None:
        raise ModelFileError(
            f"The model was found in the custom search space {description.get('class')}, which "
            "load does not import from a file: pass it as load(path, search_space=...)."
        )
    return rebuild_space(description)


# -- saving --------------------------------------------------------------------------
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
    import skops.io
    import torch

    from sknas import __version__

    estimator._check_refitted("save")
    state = estimator._get_fitted_state()
    module = state["best_estimator_"].module_
    weights = {name: tensor.detach().cpu() for name, tensor in module.state_dict().items()}
    parameters = list(module.parameters())
    dtype = parameters[0].dtype if parameters else torch.float32
    params = {
        name: value for name, value in estimator.get_params(deep=False).items()
        if name not in ENVIRONMENT_PARAMS
    }
    kept = {name: value for name, value in params.items() if _is_json(value)}
    classes = state.get("classes_")
    image_shape = state["image_shape_"]
    names = state.get("feature_names_in_")
    manifest: dict[str, Any] = {
        "sknas_version": __version__,
        "estimator": type(estimator).__name__,
        "params": kept,
        "omitted_params": sorted(set(params) - set(kept)),
        "search_space": describe_space(state["search_space_"]),
        "architecture": {
            "params": state["best_params_"],
            "key": state["best_architecture_"].key(),
            "description": str(state["best_architecture_"]),
        },
        "n_features_in": int(state["n_features_in_"]),
        "feature_names_in": None if names is None else [str(n) for n in names],
        "classes": None if classes is None else _encode_array(classes),
        "n_outputs": int(state["n_outputs_"]),
        "image_shape": None if image_shape is None else [int(v) for v in image_shape],
        "sequence_shape": _shape_list(state.get("sequence_shape_")),
        "y_was_1d": bool(state.get("_y_was_1d", True)),
        "network": {
            "task": estimator._task,
            "dtype": str(dtype).replace("torch.", ""),
            "n_inputs": int(_input_width(state["preprocessor_"])),
            "n_parameters": int(sum(t.numel() for t in weights.values())),
        },
        "best_score": _scalar(float(state["best_score_"])),
        "best_index": int(state["best_index_"]),
        "n_trials": int(state["n_trials_"]),
        "refit_time": float(state.get("refit_time_", 0.0)),
        "cv_results": _encode_cv_results(state["cv_results_"]),
        "pareto_front": (
            None if state.get("pareto_front_") is None
            else [int(i) for i in state["pareto_front_"]]
        ),
    }
    members = {
        WEIGHTS: _weights_bytes(weights),
        PREPROCESSOR: skops.io.dumps(state["preprocessor_"]),
    }
    manifest["ensemble"] = _save_ensemble(state, members)
    return write_model_file(path, manifest, members)


def _shape_list(shape: Any) -> list[int] | None:
    return None if shape is None else [int(v) for v in shape]


def _weights_bytes(weights: dict[str, Any]) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(weights, buffer)
    return buffer.getvalue()


def _save_ensemble(state: dict[str, Any], members: dict[str, bytes]) -> dict[str, Any] | None:
    """Describe the ensemble in the manifest and add its members' weights to ``members``."""
    ensemble = state.get("ensemble_")
    if ensemble is None:
        return None
    nets = state["ensemble_estimators_"]
    room = LIMITS["members"] - len(members) - 1
    if len(nets) - 1 > room:
        raise ValueError(
            f"The ensemble has {len(nets)} networks; a model file holds at most {room + 1}. "
            "Fit with a smaller ensemble_size or refit_seeds to save it."
        )
    described = []
    for position, (index, weight, net) in enumerate(
        zip(ensemble.indices, ensemble.weights, nets)
    ):
        params = state["cv_results_"]["params"][index]
        name = WEIGHTS if position == 0 else f"member_{position}.pt"
        if position:
            members[name] = _weights_bytes(
                {key: t.detach().cpu() for key, t in net.module_.state_dict().items()}
            )
        described.append({
            "index": int(index),
            "weight": float(weight),
            "params": dict(params),
            "key": state["search_space_"].decode(params).key(),
            "dtype": str(next(net.module_.parameters()).dtype).replace("torch.", ""),
            "file": name,
        })
    return {"score": _scalar(float(ensemble.score)), "members": described}


def _input_width(preprocessor: Any) -> int:
    """Columns of the preprocessed matrix (what the network reads)."""
    return len(preprocessor.get_feature_names_out())


# -- loading -------------------------------------------------------------------------
def _load_preprocessor(data: bytes) -> Any:
    import skops.io

    from sknas.utils.preprocessing import PREPROCESSING_TYPES

    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except _SKOPS_ERRORS as exc:
        raise ModelFileError(f"its preprocessing cannot be read ({exc}).") from exc
    foreign = sorted(set(untrusted) - set(PREPROCESSING_TYPES))
    if foreign:
        raise ModelFileError(
            f"its preprocessing holds types that sknas does not load: {foreign}."
        )
    try:
        preprocessor = skops.io.loads(data, trusted=list(PREPROCESSING_TYPES))
    except _SKOPS_ERRORS as exc:
        raise ModelFileError(f"its preprocessing cannot be read ({exc}).") from exc
    if not callable(getattr(preprocessor, "transform", None)) or not hasattr(
        preprocessor, "n_features_in_"
    ):
        raise ModelFileError(
            f"its preprocessing is a {type(preprocessor).__name__}, not a fitted transformer."
        )
    return preprocessor


def _load_weights(data: bytes) -> dict[str, Any]:
    import torch

    try:
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except _TORCH_LOAD_ERRORS as exc:
        raise ModelFileError(f"its weights cannot be read ({exc}).") from exc
    if not isinstance(state, dict) or not all(
        isinstance(name, str) and isinstance(t, torch.Tensor) for name, t in state.items()
    ):
        raise ModelFileError("its weights are not a state_dict of named tensors.")
    if len(state) > LIMITS["arrays"]:
        raise ModelFileError(f"its weights hold {len(state)} arrays, more than sknas reads.")
    return state


def _check_shapes(evaluator: Any, arch: Any, n_inputs: int, weights: dict[str, Any],
                  already: int = 0) -> int:
    """Compare the network's shapes (built on the meta device: no memory) with the weights.

    Returns the network's parameter count; ``already`` counts those of the
    file's other networks against the same limit.
    """
    import torch

    with torch.device("meta"):
        module = evaluator.inference_module(arch, n_inputs)
    expected = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    n_parameters = sum(int(np.prod(shape)) for shape in expected.values())
    if already + n_parameters > LIMITS["parameters"]:
        raise ModelFileError(
            f"the described network has {n_parameters} parameters, more than the "
            f"{LIMITS['parameters']} sknas loads."
        )
    found = {name: tuple(t.shape) for name, t in weights.items()}
    if expected != found:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        differ = sorted(n for n in set(expected) & set(found) if expected[n] != found[n])
        raise ModelFileError(
            "the weights do not fit the described network: "
            f"missing {missing[:5]}, unexpected {extra[:5]}, other shapes {differ[:5]}."
        )
    return n_parameters


def _decode_architecture(space: SearchSpace, described: dict[str, Any]) -> Any:
    arch = space.decode(described["params"])
    if arch.key() != described["key"]:
        raise ModelFileError(
            f"the search space builds {arch.key()!r} from the saved parameters, but the "
            f"model holds {described['key']!r}: the space differs from the "
            "one used for the search."
        )
    return arch


def _check_ensemble(manifest: dict[str, Any], space: SearchSpace, evaluator: Any,
                    n_inputs: int, members: dict[str, bytes], n_parameters: int) -> Any:
    """The ensemble of the file, its members' weights checked (shapes, limits, files).

    Returns None without an ensemble, else the :class:`Ensemble` and, for every
    member after the first (the best network, ``weights.pt``), its architecture,
    weights and dtype.
    """
    from sknas.estimators._ensemble import Ensemble

    described = manifest.get("ensemble")
    if described is None:
        unused = sorted(set(members) - {PREPROCESSOR, WEIGHTS})
        if unused:
            raise ModelFileError(f"it holds members that it does not describe: {unused}.")
        return None
    listed = described["members"]
    if not isinstance(listed, list) or not listed or len(listed) > LIMITS["members"]:
        raise ModelFileError("its ensemble lists no members, or too many.")
    n_rows = len(manifest["cv_results"]["params"]["values"])
    indices = [int(m["index"]) for m in listed]
    weights = [float(m["weight"]) for m in listed]
    if (
        indices[0] != int(manifest["best_index"])
        or not all(0 <= i < n_rows for i in indices)
        or not all(w > 0 for w in weights)
        or not np.isclose(sum(weights), 1.0)
    ):
        raise ModelFileError(
            "its ensemble is inconsistent: members must be rows of cv_results, "
            "the best first, with positive weights summing to 1."
        )
    files = [m["file"] for m in listed]
    if files != [WEIGHTS] + [f"member_{k}.pt" for k in range(1, len(listed))]:
        raise ModelFileError(f"its ensemble names unexpected weight files {files[:5]}.")
    extra = []
    for member in listed[1:]:
        if member["file"] not in members:
            raise ModelFileError(f"its ensemble member {member['file']} is missing.")
        arch = _decode_architecture(space, member)
        state = _load_weights(members[member["file"]])
        n_parameters += _check_shapes(evaluator, arch, n_inputs, state, n_parameters)
        extra.append((arch, state, member["dtype"]))
    unused = sorted(set(members) - {PREPROCESSOR, *files})
    if unused:
        raise ModelFileError(f"it holds members that its ensemble does not list: {unused}.")
    score = described["score"]
    selection = Ensemble(
        tuple(indices), tuple(weights), float("nan") if score is None else float(score)
    )
    return selection, extra


def _check_consistency(manifest: dict[str, Any], estimator_class: Any, preprocessor: Any,
                       classes: Any) -> None:
    task = _TASKS[estimator_class.__name__]
    if manifest["network"]["task"] != task:
        raise ModelFileError(
            f"it describes a {manifest['network']['task']} network, but a "
            f"{estimator_class.__name__} ({task})."
        )
    n_features = int(manifest["n_features_in"])
    if int(getattr(preprocessor, "n_features_in_", -1)) != n_features:
        raise ModelFileError(
            f"its preprocessing reads {getattr(preprocessor, 'n_features_in_', None)} "
            f"features, its description {n_features}."
        )
    names = manifest["feature_names_in"]
    if names is not None and len(names) != n_features:
        raise ModelFileError(f"it names {len(names)} features for {n_features} features.")
    if int(manifest["network"]["n_inputs"]) != _input_width(preprocessor):
        raise ModelFileError("its network's input width differs from its preprocessing's output.")
    for kind in ("image", "sequence"):
        shape = manifest.get(f"{kind}_shape")
        if shape is not None and int(np.prod(shape)) != n_features:
            raise ModelFileError(f"its {kind} shape {shape} does not hold {n_features} values.")
    n_outputs = int(manifest["n_outputs"])
    if task == "classification":
        if classes is None or len(classes) != n_outputs or len(classes) < 2:
            raise ModelFileError(
                f"it lists {None if classes is None else len(classes)} classes for a network "
                f"of {n_outputs} outputs."
            )
        order = np.asarray(classes)
        if len(np.unique(order)) != len(order) or not np.array_equal(np.unique(order), order):
            raise ModelFileError("its classes are not sorted and unique, as fit leaves them.")
    elif classes is not None:
        raise ModelFileError("it lists classes for a regressor.")


def load_model(path: str | os.PathLike, estimator_classes: dict[str, Any],
               search_space: SearchSpace | None = None) -> BaseNAS:
    """Read a model file and return the fitted estimator (see :func:`sknas.load`).

    Parameters
    ----------
    path : str or path-like
        The model file.
    estimator_classes : dict
        Estimator class by name: the only classes a file may name.
    search_space : SearchSpace, optional
        The custom search space of the model, if any.

    Returns
    -------
    NASClassifier or NASRegressor
    """
    from sknas.evaluation.training import TrainingEvaluator

    path = Path(path)
    manifest, members = read_model_file(path, required=(WEIGHTS, PREPROCESSOR))
    try:
        estimator_class = estimator_classes.get(manifest["estimator"])
        if estimator_class is None:
            raise ModelFileError(f"it holds an unknown estimator {manifest['estimator']!r}.")
        preprocessor = _load_preprocessor(members[PREPROCESSOR])
        classes = None if manifest["classes"] is None else _decode_array(manifest["classes"])
        _check_consistency(manifest, estimator_class, preprocessor, classes)
        space = _rebuild_space(manifest["search_space"], search_space)
        arch = _decode_architecture(space, manifest["architecture"])
        n_outputs = int(manifest["n_outputs"])
        n_inputs = int(manifest["network"]["n_inputs"])
        evaluator = TrainingEvaluator(
            space, task=_TASKS[estimator_class.__name__], n_outputs=n_outputs,
            scorer=None, splits=[], max_epochs=1, patience=1,  # type: ignore[arg-type]
        )
        weights = _load_weights(members[WEIGHTS])
        n_parameters = _check_shapes(evaluator, arch, n_inputs, weights)
        ensemble = _check_ensemble(manifest, space, evaluator, n_inputs, members, n_parameters)
        net = _build_net(evaluator, arch, weights, manifest["network"]["dtype"], n_inputs=n_inputs)
        params = {k: v for k, v in manifest["params"].items() if k not in ENVIRONMENT_PARAMS}
        if isinstance(params.get("objectives"), list):  # JSON has no tuples
            params["objectives"] = tuple(params["objectives"])
        if "search_space" not in params:  # an instance: the rebuilt one stands in for it
            params["search_space"] = space
        estimator = estimator_class(**params)
        estimator._validate_params()
        image_shape = manifest["image_shape"]
        best_score = manifest["best_score"]
        state: dict[str, Any] = {
            "best_estimator_": net,
            "search_space_": space,
            "best_architecture_": arch,
            "best_params_": dict(manifest["architecture"]["params"]),
            "best_score_": float("nan") if best_score is None else float(best_score),
            "best_index_": int(manifest["best_index"]),
            "n_trials_": int(manifest["n_trials"]),
            "refit_time_": float(manifest["refit_time"]),
            "cv_results_": _decode_cv_results(manifest["cv_results"]),
            "n_features_in_": int(manifest["n_features_in"]),
            "n_outputs_": n_outputs,
            "preprocessor_": preprocessor,
            "image_shape_": None if image_shape is None else tuple(int(v) for v in image_shape),
            "device_": "cpu",
        }
        if manifest.get("sequence_shape") is not None:
            state["sequence_shape_"] = tuple(int(v) for v in manifest["sequence_shape"])
        front = manifest.get("pareto_front")
        if front is not None:
            n_rows = len(state["cv_results_"]["params"])
            if not all(isinstance(i, int) and 0 <= i < n_rows for i in front):
                raise ModelFileError("its pareto_front lists rows that cv_results lacks.")
            state["pareto_front_"] = np.asarray(front, dtype=np.intp)
        if manifest["feature_names_in"] is not None:
            state["feature_names_in_"] = np.asarray(manifest["feature_names_in"], dtype=object)
        if classes is not None:
            state["classes_"] = classes
        if "_y_was_1d" in estimator_class._REQUIRED_STATE:
            state["_y_was_1d"] = bool(manifest["y_was_1d"])
        if ensemble is not None:
            selection, extra = ensemble
            state["ensemble_"] = selection
            state["ensemble_estimators_"] = [net] + [
                _build_net(evaluator, *member, n_inputs=n_inputs) for member in extra
            ]
        return estimator._set_fitted_state(state)
    except ModelFileError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ModelFileError(f"{path} cannot be loaded: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ModelFileError(
            f"{path} is corrupt: its description is incomplete or invalid "
            f"({type(exc).__name__}: {exc})."
        ) from exc


def _build_net(evaluator: Any, arch: Any, weights: dict[str, Any], dtype: str, *,
               n_inputs: int) -> Any:
    import torch

    with torch.random.fork_rng(devices=[]):  # building initialises weights: keep torch's RNG
        module = evaluator.inference_module(arch, n_inputs)
    if dtype == "float64":
        module.double()
    elif dtype != "float32":
        raise ModelFileError(f"its network has dtype {dtype!r}; sknas writes float32 or float64.")
    try:
        module.load_state_dict(weights, strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelFileError(f"the weights do not fit the described network: {exc}") from exc
    return evaluator.inference_net(module)
