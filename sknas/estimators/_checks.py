"""Checks that refuse, before any network trains, settings that cannot work for the data.

Each check raises a ``ValueError`` whose message names the setting, what it was
given and what would work, so that a search never spends its budget on
candidates that were bound to fail.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from sknas.spaces.base import SearchSpace

__all__ = [
    "ACCEPTED_SHAPES",
    "check_device_for_task",
    "check_input_ndim",
    "check_scorer",
    "check_space_builds",
    "clamp_threads",
    "resolve_device",
]

#: What the estimators accept as ``X``, in the words of their error messages.
ACCEPTED_SHAPES = (
    "2-D tables (n_samples, n_features), 3-D sequences (n_samples, timesteps, features) "
    "and 4-D image batches (n_samples, channels, height, width)"
)


def check_input_ndim(X: Any) -> None:
    """Refuse arrays that are neither tables, sequences nor image batches.

    Parameters
    ----------
    X : array-like
        The input of ``fit`` or ``predict``; objects without ``ndim`` (lists,
        DataFrames, sparse matrices) are left to scikit-learn's validation.

    Raises
    ------
    ValueError
        For more than 4 dimensions.
    """
    ndim = getattr(X, "ndim", None)
    if ndim is None or ndim in (1, 2, 3, 4):
        return  # 1-D is refused by scikit-learn's own message
    shape = tuple(int(v) for v in X.shape)
    raise ValueError(f"X has {ndim} dimensions {shape}; sknas accepts {ACCEPTED_SHAPES}.")


def resolve_device(device: str) -> str:
    """Turn ``"auto"`` into ``"cuda"`` when a GPU is available, else ``"cpu"``.

    Any other device is checked by placing a tensor on it, so a device that is
    missing on this machine (``"cuda"`` without a GPU, ``"mps"`` off Apple
    silicon, ``"cuda:3"`` on a one-GPU machine) is refused before training.

    Parameters
    ----------
    device : str
        ``"auto"`` or a torch device string such as ``"cpu"`` or ``"cuda:0"``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        The string is not a torch device, or the device is not available.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"The 'device' parameter must be 'auto' or a torch device such as 'cpu' or "
            f"'cuda:0'. Got {device!r} instead."
        ) from exc
    if parsed.type == "cpu":
        return device
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    try:
        torch.empty(1, device=parsed)
    except (RuntimeError, AssertionError, AttributeError) as exc:
        raise ValueError(
            f"device={device!r} was requested but is not available on this machine "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]}). Use device='auto' or 'cpu'."
        ) from exc
    return device


def check_device_for_task(device: str, task: str) -> None:
    """Refuse a device that cannot run the task's arithmetic.

    Regression de-standardises its outputs in float64 (targets of any
    magnitude stay exact), which Apple's MPS backend does not support.

    Parameters
    ----------
    device : str
        A resolved torch device string.
    task : {"classification", "regression"}
        The estimator's task.

    Raises
    ------
    ValueError
    """
    if task == "regression" and device.split(":")[0] == "mps":
        raise ValueError(
            f"device={device!r} cannot run NASRegressor: its outputs are de-standardised in "
            "float64, which the MPS backend does not support. Use device='cpu' (or 'cuda')."
        )


def clamp_threads(
    n_threads: int | None, what: str = "n_threads", *, warn: bool = True
) -> int | None:
    """Limit a thread count to the machine's cores, with a warning when it is cut.

    Parameters
    ----------
    n_threads : int or None
        Requested threads (None: torch's own setting).
    what : str, default="n_threads"
        Name of the parameter, for the warning.
    warn : bool, default=True
        Warn when the count is cut (``fit`` warns once; later uses cut silently).

    Returns
    -------
    int or None
    """
    cores = os.cpu_count() or 1
    if n_threads is not None and n_threads > cores:
        if not warn:
            return cores
        warnings.warn(
            f"{what}={n_threads} is more than the {cores} cores of this machine; using "
            f"{cores} (oversubscribed threads only slow training down).",
            UserWarning,
            stacklevel=3,
        )
        return cores
    return n_threads


def check_scorer(
    scorer: Any,
    scoring: Any,
    task: str,
    X: np.ndarray,
    y: np.ndarray,
    valid: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> None:
    """Refuse a scorer that cannot score this task on this data.

    The scorer is tried on a constant predictor (scikit-learn's dummy
    estimators) over the rows that candidates are scored on: a classification
    metric for a regressor, or ``roc_auc`` on three classes, fails here and not
    after the whole search.

    Parameters
    ----------
    scorer : callable
        ``scorer(estimator, X, y)``.
    scoring : str, callable or None
        The estimator's ``scoring`` parameter, for the message.
    task : {"classification", "regression"}
        The estimator's task.
    X : ndarray of shape (n_samples, n_features)
        Encoded inputs.
    y : ndarray
        Encoded targets (class indices, or float targets).
    valid : ndarray of int
        Rows of the first validation split.
    sample_weight : ndarray, optional
        The rows' weights, which the scorer then receives as ``sample_weight``.

    Raises
    ------
    ValueError
        When the scorer raises, returns something that is not a number, or
        takes no ``sample_weight`` although the rows are weighted.
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor

    from sknas.estimators._weights import accepts_sample_weight

    kwargs: dict[str, Any] = {}
    if sample_weight is not None:
        if not accepts_sample_weight(scorer):
            raise ValueError(
                f"scoring={scoring!r} takes no sample_weight argument, so the validation "
                "scores would ignore the weights given to fit. Give the callable a "
                "sample_weight=None keyword (as sklearn.metrics.make_scorer's scorers have) "
                "or fit without weights."
            )
        kwargs["sample_weight"] = sample_weight[valid]

    dummy: Any = DummyClassifier() if task == "classification" else DummyRegressor()
    dummy.fit(X, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = scorer(dummy, X[valid], y[valid], **kwargs)
        float(value)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        kind = "classifier" if task == "classification" else "regressor"
        raise ValueError(
            f"scoring={scoring!r} cannot score this {kind} on its validation data: "
            f"{type(exc).__name__}: {exc}. Choose a scorer for {task} "
            "(sklearn.metrics.get_scorer_names())."
        ) from exc


#: Candidates (the space's first ones, then random draws) tried by :func:`check_space_builds`.
SHAPE_CHECK_CANDIDATES = 5


def check_space_builds(
    space: SearchSpace,
    n_features: int,
    n_outputs: int,
    image_shape: tuple[int, ...] | None,
) -> None:
    """Build candidates of the space on torch's meta device and run a forward pass.

    Nothing is allocated (meta tensors have shapes, not data), so this is
    cheap even for large networks. The space's first candidate is tried, then
    random ones, until one builds and maps the input to the outputs; a space
    none of whose :data:`SHAPE_CHECK_CANDIDATES` candidates can take this
    input (cells for images on a table, images smaller than the network's
    reductions) is refused before training, while a space that fails only
    for some candidates is left to the search (those candidates fail).

    Parameters
    ----------
    space : SearchSpace
        The resolved search space.
    n_features : int
        Width of the encoded input rows.
    n_outputs : int
        Classes or targets.
    image_shape : tuple of int, optional
        Shape of one sample of image or sequence input; None for tables
        (for the message).

    Raises
    ------
    ValueError
        Naming the space, the input's shape and the reason.
    """
    import torch

    rng = np.random.default_rng(0)
    candidates = list(space.initial_params())
    shape = (n_features,) if image_shape is None else tuple(image_shape)
    first_error: BaseException | None = None
    for attempt in range(SHAPE_CHECK_CANDIDATES):
        try:
            with torch.device("meta"):
                if attempt < len(candidates):
                    arch = space.decode(candidates[attempt])
                else:
                    arch = space.sample(rng)
                module = space.build_module(arch, n_features, n_outputs)
                output = module.eval()(torch.zeros(2, n_features))
            if tuple(output.shape) != (2, n_outputs):
                raise ValueError(f"the network returns shape {tuple(output.shape)[1:]} per row")
            return
        except Exception as exc:  # noqa: BLE001  any failure is this candidate's; kept for the message
            first_error = first_error or exc
    raise ValueError(
        f"The search space {type(space).__name__} cannot build a network for input of "
        f"shape {shape} with {n_outputs} outputs (none of {SHAPE_CHECK_CANDIDATES} "
        f"candidates): {str(first_error).rstrip('.')}. sknas accepts "
        f"{ACCEPTED_SHAPES}; use a search space made for this input "
        "(search_space='auto' picks one)."
    ) from first_error
