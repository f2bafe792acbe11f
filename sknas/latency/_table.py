"""A latency model fitted to a table of latencies measured on some device."""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["TableLatencyModel", "read_latency_table"]


def read_latency_table(
    path: str | os.PathLike[str], device: str
) -> tuple[list[str], np.ndarray]:
    """Read one device's column of a latency table (CSV, optionally gzipped).

    Parameters
    ----------
    path : str or path-like
        A CSV with an ``arch_str`` column and ``lat_<device>_ms`` columns,
        such as NAS-Bench-201's ``nb201_latency.csv.gz``.
    device : str
        The device, e.g. ``"pixel3"`` (column ``lat_pixel3_ms``).

    Returns
    -------
    arch_strs : list of str
    latency : numpy.ndarray of float
        Milliseconds, aligned with ``arch_strs``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the device has no column (the message lists the devices there).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No latency table at {str(path)!r}; pass the path of the CSV "
            "(e.g. nb201_latency.csv.gz). Nothing is downloaded."
        )
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        rows = list(reader)
    devices = [c[4:-3] for c in header if c.startswith("lat_") and c.endswith("_ms")]
    column = f"lat_{device}_ms"
    if column not in header or "arch_str" not in header:
        raise ValueError(
            f"device={device!r} has no column {column!r} in {str(path)!r}; "
            f"devices there: {devices}."
        )
    at, lat = header.index("arch_str"), header.index(column)
    return [row[at] for row in rows], np.array([float(row[lat]) for row in rows])


class TableLatencyModel:
    """A scikit-learn regressor of latency on a space's architecture encoding.

    Fit it to latencies measured on a device (a table such as
    NAS-Bench-201's six devices, or measurements of a few networks on the
    target), then predict the latency of unseen architectures.

    Parameters
    ----------
    search_space : SearchSpace
        Encodes architectures (``search_space.encode(arch, encoding)``).
    estimator : scikit-learn regressor, optional
        Cloned before fitting; default
        ``sklearn.ensemble.HistGradientBoostingRegressor(random_state=0)``,
        which captures the interactions a linear model misses (an edge
        without operation removes the cost of the ones it disconnects).
    encoding : str, default="onehot"
        The space's encoding.
    log_target : bool, default=True
        Fit ``log(latency)``: latencies span orders of magnitude and add up
        multiplicatively across stages.

    Attributes
    ----------
    estimator_ : scikit-learn regressor
        The fitted copy.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.spaces import NB201Space
    >>> space = NB201Space()
    >>> archs = [space.sample(np.random.default_rng(i)) for i in range(30)]
    >>> lat = [1.0 + space.ops(a).count("nor_conv_3x3") for a in archs]
    >>> model = TableLatencyModel(space).fit(archs, lat)
    >>> model.predict(archs[:2]).shape
    (2,)
    """

    def __init__(
        self,
        search_space: SearchSpace,
        estimator: Any = None,
        *,
        encoding: str = "onehot",
        log_target: bool = True,
    ) -> None:
        self.search_space = search_space
        self.estimator = estimator
        self.encoding = encoding
        self.log_target = log_target

    def _features(self, archs: Sequence[Architecture]) -> np.ndarray:
        return np.stack([self.search_space.encode(a, self.encoding) for a in archs])

    def fit(self, archs: Sequence[Architecture], latency: Sequence[float]) -> TableLatencyModel:
        """Fit the regressor to measured latencies.

        Parameters
        ----------
        archs : sequence of Architecture
            Architectures of the space.
        latency : sequence of float
            Their latencies (ms), all positive when ``log_target``.

        Returns
        -------
        self
        """
        from sklearn.ensemble import HistGradientBoostingRegressor

        y = np.asarray(latency, dtype=float)
        if len(y) != len(archs) or len(y) < 2:
            raise ValueError(
                f"fit needs one latency per architecture and at least two; got {len(archs)} "
                f"architectures and {len(y)} latencies."
            )
        if self.log_target and not np.all(y > 0):
            raise ValueError("latencies must be > 0 with log_target=True.")
        base = self.estimator if self.estimator is not None else (
            HistGradientBoostingRegressor(random_state=0)
        )
        self.estimator_ = clone(base).fit(
            self._features(archs), np.log(y) if self.log_target else y
        )
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predicted latencies (ms).

        Parameters
        ----------
        archs : sequence of Architecture
            Architectures of the space.

        Returns
        -------
        numpy.ndarray of shape (len(archs),)
        """
        out = np.asarray(self.estimator_.predict(self._features(archs)), dtype=float)
        return np.exp(out) if self.log_target else out
