"""Ensembles of the best candidates: greedy ensemble selection with replacement.

Caruana et al. (2004), "Ensemble selection from libraries of models", as
auto-sklearn and Auto-PyTorch use it: starting from the chosen candidate, add,
``ensemble_size - 1`` times, the candidate (possibly one already chosen) whose
addition gives the best validation score of the averaged predictions. A
member's weight is the number of times it was chosen over ``ensemble_size``.

Each completed candidate's held-out predictions (class probabilities or
regression outputs on the validation rows of every split, at its restored best
epoch) are kept as a trial user attribute (:data:`PREDICTIONS_ATTR`), so the
selection works with any storage, with ``n_jobs > 1`` and on resume. They are
stored compressed (probabilities in float16, regression outputs in float32)
and only up to :data:`MAX_ENCODED_CHARS` characters per trial; only
candidates scored on the same validation rows (same splits, recorded by a
digest) are combined.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from sknas._search import DUPLICATE_ATTR

__all__ = [
    "Ensemble",
    "PREDICTIONS_ATTR",
    "MAX_ENCODED_CHARS",
    "average_outputs",
    "decode_predictions",
    "encode_predictions",
    "greedy_selection",
    "seed_networks",
    "select_ensemble",
    "splits_digest",
]

#: Trial user attribute holding a candidate's held-out predictions.
PREDICTIONS_ATTR = "valid_predictions"
#: Most characters of one trial's encoded predictions (larger ones are not kept).
MAX_ENCODED_CHARS = 1_000_000
_DTYPES = {"classification": np.float16, "regression": np.float32}


@dataclass(frozen=True)
class Ensemble:
    """The members of an ensemble and their weights.

    Attributes
    ----------
    indices : tuple of int
        Rows of ``cv_results_`` of the members, the refit-chosen candidate
        (``best_index_``) first, then in the order they were first selected.
        After the refit (the estimator's ``ensemble_``), one entry per refit
        network: a row appears once per network trained from it with its own
        seed (see :func:`seed_networks`).
    weights : tuple of float
        Weight of each member (times chosen / ``ensemble_size``), or of each
        network after the refit; they sum to 1.
    score : float
        Validation score of the weighted average of the members' held-out
        predictions (optimistic: the members were chosen on these rows).
    """

    indices: tuple[int, ...]
    weights: tuple[float, ...]
    score: float


def splits_digest(splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
    """A short digest of the splits' validation rows (which predictions can be combined).

    Parameters
    ----------
    splits : sequence of (train, valid) index arrays
        The search's splits.

    Returns
    -------
    str
    """
    digest = hashlib.sha256()
    for _, valid in splits:
        digest.update(np.ascontiguousarray(valid, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def encode_predictions(
    predictions: Sequence[np.ndarray], task: str, digest: str
) -> dict[str, Any] | None:
    """A candidate's per-split held-out predictions as a compact JSON value.

    Parameters
    ----------
    predictions : sequence of ndarray
        One 2-D array per split (rows: that split's validation rows).
    task : {"classification", "regression"}
        Probabilities are kept in float16, regression outputs in float32.
    digest : str
        :func:`splits_digest` of the splits they were made on.

    Returns
    -------
    dict or None
        None when the encoding exceeds :data:`MAX_ENCODED_CHARS`.
    """
    dtype = _DTYPES[task]
    arrays = [np.asarray(p, dtype=np.float64).reshape(len(p), -1) for p in predictions]
    raw = b"".join(np.ascontiguousarray(a, dtype=dtype).tobytes() for a in arrays)
    data = base64.b64encode(zlib.compress(raw, 6)).decode("ascii")
    if len(data) > MAX_ENCODED_CHARS:
        return None
    return {
        "splits": digest,
        "dtype": np.dtype(dtype).name,
        "rows": [int(a.shape[0]) for a in arrays],
        "columns": int(arrays[0].shape[1]) if arrays else 0,
        "data": data,
    }


def decode_predictions(value: Any, digest: str) -> list[np.ndarray] | None:
    """The per-split predictions stored by :func:`encode_predictions`, in float64.

    Parameters
    ----------
    value : object
        The trial's user attribute (anything: it comes from a storage).
    digest : str
        The current search's :func:`splits_digest`.

    Returns
    -------
    list of ndarray or None
        None when ``value`` is missing, malformed, or was made on other splits.
    """
    if not isinstance(value, dict) or value.get("splits") != digest:
        return None
    rows, columns = value.get("rows"), value.get("columns")
    dtype = {"float16": np.float16, "float32": np.float32}.get(str(value.get("dtype")))
    if (
        dtype is None
        or not isinstance(rows, list)
        or not all(isinstance(r, int) and r >= 0 for r in rows)
        or not isinstance(columns, int)
        or columns < 1
        or not isinstance(value.get("data"), str)
    ):
        return None
    expected = sum(rows) * columns * np.dtype(dtype).itemsize
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(value["data"], validate=True), expected + 1)
    except (ValueError, zlib.error, binascii.Error):
        return None
    if len(raw) != expected:
        return None
    flat = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    bounds = np.cumsum([0, *rows]) * columns
    return [flat[a:b].reshape(-1, columns) for a, b in zip(bounds[:-1], bounds[1:])]


def greedy_selection(
    predictions: Sequence[np.ndarray],
    score: Callable[[np.ndarray], Any],
    size: int,
    *,
    first: int = 0,
) -> list[int]:
    """Greedy ensemble selection with replacement (Caruana et al., 2004).

    Parameters
    ----------
    predictions : sequence of ndarray
        Each candidate's held-out predictions, all of one shape.
    score : callable
        ``score(averaged_predictions)``, greater is better: a float, or a
        tuple compared in order (later items break ties of earlier ones).
        NaN counts as the worst score.
    size : int
        Rounds of selection (members counted with repetition).
    first : int, default=0
        The candidate the ensemble starts from.

    Returns
    -------
    list of int
        The ``size`` chosen candidates in selection order (with repetitions);
        remaining ties go to the candidate listed first.
    """
    chosen = [first]
    total = np.asarray(predictions[first], dtype=np.float64).copy()
    while len(chosen) < size:
        n = len(chosen) + 1
        keys = [_key(score((total + p) / n)) for p in predictions]
        best = max(range(len(keys)), key=lambda i: (keys[i], -i))
        chosen.append(best)
        total += predictions[best]
    return chosen


def seed_networks(ensemble: Ensemble, size: int, seeds: int) -> Ensemble:
    """One entry per network to refit: each selection of a member, ``seeds`` times.

    A member chosen ``k`` times by greedy selection (weight ``k / size``)
    becomes ``k * seeds`` networks of weight ``1 / (size * seeds)`` each,
    trained from different seeds: repeated choices then average independent
    networks instead of counting one network twice (seed averaging lowers the
    variance of the refit). Entries of one member stay together, in member order.

    Parameters
    ----------
    ensemble : Ensemble
        Distinct members and their selection weights.
    size : int
        ``ensemble_size`` (rounds of selection the weights count).
    seeds : int
        Networks per selection (``refit_seeds``).

    Returns
    -------
    Ensemble
        Same ``score``; ``size * seeds`` entries (at least one per member).
    """
    indices: list[int] = []
    for index, weight in zip(ensemble.indices, ensemble.weights):
        indices += [index] * max(1, round(weight * size)) * seeds
    share = 1.0 / len(indices)
    return Ensemble(tuple(indices), (share,) * len(indices), ensemble.score)


def _key(value: Any) -> tuple[float, ...]:
    values = value if isinstance(value, tuple) else (value,)
    return tuple(-np.inf if np.isnan(float(v)) else float(v) for v in values)


class _Fixed(BaseEstimator):
    """Returns fixed predictions, so that a scikit-learn scorer scores them."""

    def __init__(self, output: np.ndarray) -> None:
        self.output = output


class _FixedClassifier(ClassifierMixin, _Fixed):
    def predict_proba(self, X: Any) -> np.ndarray:
        return self.output

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.output, axis=1)]


class _FixedRegressor(RegressorMixin, _Fixed):
    def predict(self, X: Any) -> np.ndarray:
        return self.output


def _split_scorer(
    scorer: Callable[..., float],
    task: str,
    targets: list[np.ndarray],
    rows: list[int],
    weights: list[np.ndarray] | None = None,
) -> Callable[[np.ndarray], tuple[float, float]]:
    """``score(stacked predictions)``: the mean of ``scorer`` over the splits.

    For classification, the mean log-likelihood of the true classes breaks ties.
    With ``weights`` (one array per split) both are weighted by the rows' weights.
    """
    bounds = np.cumsum([0, *rows])
    all_weights = None if weights is None else np.concatenate(weights)

    def score(stacked: np.ndarray) -> tuple[float, float]:
        values = []
        for index, ((a, b), y) in enumerate(zip(zip(bounds[:-1], bounds[1:]), targets)):
            part = stacked[a:b]
            if task == "classification":
                fixed: Any = _FixedClassifier(part)
                fixed.classes_ = np.arange(part.shape[1])
            else:
                fixed = _FixedRegressor(part)
            placeholder = np.zeros((len(part), 1), dtype=np.float32)
            kwargs = {} if weights is None else {"sample_weight": weights[index]}
            values.append(float(scorer(fixed, placeholder, y, **kwargs)))
        primary = float(np.mean(values))
        if task != "classification":
            return primary, 0.0
        # Ties of a coarse score (accuracy) go to the better-calibrated average.
        picked = np.take_along_axis(stacked, np.concatenate(targets)[:, None], axis=1)
        log_likelihood = np.log(np.clip(picked[:, 0], 1e-15, None))
        return primary, float(np.average(log_likelihood, weights=all_weights))

    return score


def select_ensemble(
    trials: Sequence[Any],
    *,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    scorer: Callable[..., float],
    task: str,
    best_index: int,
    size: int,
    sample_weight: np.ndarray | None = None,
) -> tuple[Ensemble, int]:
    """Choose the ensemble of a finished search from its trials' held-out predictions.

    Parameters
    ----------
    trials : sequence of FrozenTrial
        The finished trials, in ``cv_results_`` order.
    splits : sequence of (train, valid) index arrays
        The splits of this search.
    y : ndarray
        Encoded targets.
    scorer : callable
        The estimator's scorer, ``scorer(estimator, X, y)``.
    task : {"classification", "regression"}
        The estimator's task.
    best_index : int
        The refit-chosen candidate (the first member).
    size : int
        ``ensemble_size``.
    sample_weight : ndarray, optional
        Weights of the rows: the selection optimises the weighted score.

    Returns
    -------
    ensemble : Ensemble
    n_missing : int
        Completed candidates without usable held-out predictions (left out).
        Repeats of an earlier trial's architecture are left out silently.
    """
    digest = splits_digest(splits)
    candidates: list[int] = []
    stacked: list[np.ndarray] = []
    n_missing = 0
    for index, trial in enumerate(trials):
        if trial.state.name != "COMPLETE":
            continue
        if DUPLICATE_ATTR in trial.user_attrs and index != best_index:
            continue  # the same network as an earlier trial: nothing to add
        parts = decode_predictions(trial.user_attrs.get(PREDICTIONS_ATTR), digest)
        if parts is None or [len(p) for p in parts] != [len(v) for _, v in splits]:
            n_missing += 1
            continue
        candidates.append(index)
        stacked.append(np.concatenate(parts))
    if best_index not in candidates:
        return Ensemble((best_index,), (1.0,), float("nan")), n_missing
    if task == "classification":  # float16 rounding: renormalise the probabilities
        stacked = [p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12) for p in stacked]
    targets = [y[valid] for _, valid in splits]
    weights = None if sample_weight is None else [sample_weight[v] for _, v in splits]
    score = _split_scorer(scorer, task, targets, [len(v) for _, v in splits], weights)
    picks = greedy_selection(stacked, score, size, first=candidates.index(best_index))
    counts = Counter(picks)
    order = list(dict.fromkeys(picks))
    total = average_outputs([stacked[p] for p in order], [counts[p] / size for p in order])
    ensemble = Ensemble(
        indices=tuple(candidates[p] for p in order),
        weights=tuple(counts[p] / size for p in order),
        score=score(total)[0],
    )
    return ensemble, n_missing


def average_outputs(outputs: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted average of the members' outputs.

    Parameters
    ----------
    outputs : sequence of ndarray
        Each member's output, all of one shape.
    weights : sequence of float
        The members' weights (summing to 1).

    Returns
    -------
    ndarray
    """
    total = np.zeros_like(np.asarray(outputs[0], dtype=np.float64))
    for output, weight in zip(outputs, weights):
        total += float(weight) * np.asarray(output, dtype=np.float64)
    return total
