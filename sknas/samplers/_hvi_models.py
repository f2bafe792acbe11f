"""The surrogates and the enumerated candidate pool of hypervolume-improvement search."""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from sknas.samplers._base import Domain

__all__ = ["Surrogate", "FullPool", "encode", "full_pool"]

#: Encodings the forest reads when the space knows them (concatenated); the ridge
#: regression reads the first.
ENCODINGS = ("onehot", "effective")


def encode(domain: Domain, params: list[dict[str, Any]], kinds: tuple[str, ...]) -> np.ndarray:
    """Concatenated encodings of ``params``; a kind the space does not know is skipped."""
    blocks = []
    space = domain.space
    for kind in kinds:
        if space is None and kind != "onehot":
            continue
        try:
            blocks.append(np.stack([
                domain.encode(p) if space is None or kind == "onehot" else
                np.asarray(space.encode(space.decode(p), kind), dtype=float)
                for p in params
            ]))
        except (ValueError, KeyError, TypeError, NotImplementedError):
            continue
    return np.hstack(blocks) if blocks else domain.encode_many(params)


class Surrogate:
    """One objective's model: ridge (leave-one-out) or forest (out-of-bag), the better one."""

    def __init__(self, n_trees: int, seed: int) -> None:
        self.n_trees = n_trees
        self.seed = seed

    def fit(self, X_linear: np.ndarray, X_forest: np.ndarray, y: np.ndarray) -> Surrogate:
        """Fit both models to ``y`` and keep the one of lower out-of-sample error."""
        from sklearn import config_context

        with config_context(skip_parameter_validation=True, assume_finite=True), \
                warnings.catch_warnings():
            # Few trials: some have no out-of-bag prediction; they are left out of the error.
            warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores")
            return self._fit(X_linear, X_forest, y)

    def _fit(self, X_linear: np.ndarray, X_forest: np.ndarray, y: np.ndarray) -> Surrogate:
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.linear_model import RidgeCV

        self.ridge = RidgeCV(alphas=(0.1, 1.0, 10.0), store_cv_results=True).fit(X_linear, y)
        ridge_error = float(np.min(np.mean(self.ridge.cv_results_, axis=0)))
        self.forest = RandomForestRegressor(
            n_estimators=self.n_trees, max_features=0.5, min_samples_leaf=1, oob_score=True,
            bootstrap=True, random_state=self.seed, n_jobs=1,
        ).fit(X_forest, y)
        oob = np.asarray(self.forest.oob_prediction_, dtype=float)
        known = np.isfinite(oob)
        forest_error = float(np.mean((oob[known] - y[known]) ** 2)) if known.any() else np.inf
        self.use_forest = forest_error < ridge_error
        return self

    def predict(self, X_linear: np.ndarray, X_forest: np.ndarray) -> np.ndarray:
        """Samples of the prediction: one row per tree of the forest.

        Each row is the chosen model's mean plus one tree's deviation from the
        forest's mean, so the rows' mean is the prediction and their spread the
        forest's uncertainty.

        Returns
        -------
        numpy.ndarray of shape (n_trees, n_points)
        """
        from sklearn import config_context

        with config_context(skip_parameter_validation=True, assume_finite=True):
            trees = np.stack([tree.predict(X_forest) for tree in self.forest.estimators_])
        forest_mean = trees.mean(axis=0)
        mean = forest_mean if self.use_forest else self.ridge.predict(X_linear)
        return np.asarray(trees - forest_mean + mean, dtype=float)


class FullPool:
    """An enumerated space: one parameter set per key, the keys and the features."""

    def __init__(
        self, space: Any, params: list[dict[str, Any]], keys: list[Any],
        linear: np.ndarray, forest: np.ndarray,
    ) -> None:
        self.space = space
        self.params = params
        self.keys = keys
        self.linear = linear
        self.forest = forest

    def unseen(self, seen: set[Any]) -> np.ndarray:
        """Rows whose key is not in ``seen``."""
        return np.flatnonzero([key not in seen for key in self.keys])


def full_pool(
    domain: Domain,
    max_size: int,
    features: Callable[[Domain, list[dict[str, Any]]], tuple[np.ndarray, np.ndarray]],
) -> FullPool:
    """Enumerate ``domain``'s space (one member per key) when it lists at most ``max_size``.

    An empty pool (no parameter sets) means the space does not enumerate
    itself (``all_architectures()`` is None) or is larger than ``max_size``.
    """
    space = domain.space
    listed = space.all_architectures() if space is not None else None
    archs = list(itertools.islice(listed, max_size + 1)) if listed is not None else []
    params: list[dict[str, Any]] = []
    keys: list[Any] = []
    if space is not None and len(archs) <= max_size:
        known: set[Any] = set()
        for arch in archs:
            try:
                candidate = domain.restrict(space.to_params(arch))
            except KeyError:  # the study's parameters are not the space's
                return FullPool(space, [], [], np.zeros((0, 0)), np.zeros((0, 0)))
            key = domain.key(candidate)
            if key not in known:
                known.add(key)
                params.append(candidate)
                keys.append(key)
    linear, forest = features(domain, params) if params else (np.zeros((0, 0)),) * 2
    return FullPool(space, params, keys, linear, forest)
