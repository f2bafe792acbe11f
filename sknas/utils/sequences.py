"""Sequences ``(n_samples, timesteps, features)``: checks and per-feature standardisation.

The estimators flatten a batch of sequences into rows of ``timesteps *
features`` values (the network reshapes them back). A sequence shorter than
the others is padded with NaN at its end: every feature of a padding timestep
is NaN, and padding only follows the sequence's last real timestep. The
networks of :class:`~sknas.spaces.RecurrentCellSpace` carry their state over
the padding, so a short sequence is read up to its own end. Any other missing
or infinite value is refused, naming the sequence and the timestep.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["SequenceScaler", "check_sequences"]


def check_sequences(X: np.ndarray, *, fit: bool) -> None:
    """Refuse sequences whose missing values are not trailing padding.

    Parameters
    ----------
    X : ndarray of shape (n_samples, timesteps, features)
        The sequences, as floats.
    fit : bool
        In ``fit``, the last timestep must be real in some sequence (padding
        that every sequence has is to be trimmed).

    Raises
    ------
    ValueError
        Naming the first sequence and timestep at fault.
    """
    if np.isinf(X).any():
        i, t, _ = np.argwhere(np.isinf(X))[0]
        raise ValueError(f"X holds an infinite value in sequence {i} at timestep {t}.")
    missing = np.isnan(X)
    if not missing.any():
        return
    padding = missing.all(axis=2)  # (n, timesteps)
    partial = missing.any(axis=2) & ~padding
    if partial.any():
        i, t = np.argwhere(partial)[0]
        raise ValueError(
            f"X has missing values in sequence {i} at timestep {t} where other features are "
            "present. sknas reads NaN in sequences only as padding: every feature NaN, at "
            "the end of a shorter sequence. Impute such values first."
        )
    # Padding must be a suffix: once a timestep is padding, all later ones are too.
    after_real = np.flip(np.logical_or.accumulate(np.flip(~padding, axis=1), axis=1), axis=1)
    inner = padding & after_real
    if inner.any():
        i, t = np.argwhere(inner)[0]
        raise ValueError(
            f"X has a timestep of NaN in sequence {i} at timestep {t}, before real "
            "timesteps. NaN timesteps are read as padding, which must come at the end of "
            "a sequence (pad shorter sequences at their end)."
        )
    empty = padding.all(axis=1)
    if empty.any():
        raise ValueError(f"X holds sequence {int(np.flatnonzero(empty)[0])} with no timestep.")
    if fit and padding[:, -1].all():
        last = int(np.flatnonzero(~padding.all(axis=0))[-1]) + 1
        raise ValueError(
            f"Every sequence of X is padding after timestep {last - 1}; trim the padding "
            f"(X[:, :{last}])."
        )


class SequenceScaler(TransformerMixin, BaseEstimator):
    """Standardise each feature of flattened sequences over all samples and timesteps.

    Rows hold ``timesteps * features`` values, timestep by timestep. The mean
    and scale of each feature are scikit-learn's ``StandardScaler``'s on the
    ``(n_samples * timesteps, features)`` matrix, NaN padding left out; the
    padding stays NaN.

    Parameters
    ----------
    timesteps : int
        Timesteps of one sequence.
    n_channels : int
        Features per timestep.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
    scale_ : ndarray of shape (n_channels,)
    n_features_in_ : int
        ``timesteps * n_channels``.
    """

    def __init__(self, timesteps: int = 1, n_channels: int = 1) -> None:
        self.timesteps = timesteps
        self.n_channels = n_channels

    def fit(self, X: Any, y: Any = None) -> SequenceScaler:
        """Learn each feature's mean and scale.

        Parameters
        ----------
        X : ndarray of shape (n_samples, timesteps * n_channels)
            Flattened sequences.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        from sklearn.preprocessing import StandardScaler

        X = np.asarray(X, dtype=np.float64)
        scaler = StandardScaler().fit(X.reshape(-1, int(self.n_channels)))
        self.mean_ = np.nan_to_num(scaler.mean_, nan=0.0)
        self.scale_ = np.nan_to_num(scaler.scale_, nan=1.0)
        self.n_features_in_ = int(self.timesteps) * int(self.n_channels)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Standardise ``X`` with the fitted statistics, as float32.

        Parameters
        ----------
        X : ndarray of shape (n_samples, timesteps * n_channels)
            Flattened sequences.

        Returns
        -------
        ndarray of shape (n_samples, timesteps * n_channels), float32
        """
        check_is_fitted(self, "mean_")
        X = np.asarray(X, dtype=np.float64)
        steps = X.reshape(len(X), -1, int(self.n_channels))
        return ((steps - self.mean_) / self.scale_).reshape(len(X), -1).astype(np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``t{timestep}_x{feature}`` of the output columns.

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn's API.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "mean_")
        return np.asarray(
            [f"t{t}_x{f}" for t in range(int(self.timesteps)) for f in range(int(self.n_channels))],
            dtype=object,
        )
