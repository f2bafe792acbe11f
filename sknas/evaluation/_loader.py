"""A mini-batch iterator that slices tensors instead of collating samples.

skorch's default ``DataLoader`` indexes a dataset one sample at a time and
collates the samples into a batch, which dominates the cost of training small
networks on tabular data. :class:`BatchSlicingLoader` holds the whole tensors
and yields contiguous slices (after one random permutation per epoch when
shuffling), which keeps skorch's overhead close to a hand-written loop.

``X`` may also be a dict of arrays with one row per sample (the inputs and
their sample weights, see :func:`sknas.evaluation._nets.weighted_input`):
each batch is then a dict of the same rows of every array.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["BatchSlicingLoader", "ShuffleRNG"]


class ShuffleRNG:
    """A picklable, seeded source of epoch permutations shared across epochs.

    skorch builds a new iterator every epoch; passing the same ``ShuffleRNG``
    each time gives a different, reproducible permutation per epoch.

    Parameters
    ----------
    seed : int
        Seed of the underlying ``numpy.random.Generator``.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.generator = np.random.default_rng(seed)

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of ``range(n)``."""
        return self.generator.permutation(n)


def _as_tensor(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {key: _as_tensor(value) for key, value in data.items()}
    if data is None or isinstance(data, torch.Tensor):
        return data
    return torch.as_tensor(np.asarray(data))


def _rows(data: Any, index: Any) -> Any:
    """The rows ``index`` of a tensor, or of every tensor of a dict."""
    if isinstance(data, dict):
        return {key: value[index] for key, value in data.items()}
    return data[index]


def _n_rows(data: Any) -> int:
    if isinstance(data, dict):
        return len(next(iter(data.values())))
    return len(data)


class BatchSlicingLoader:
    """Iterate over ``(X, y)`` mini-batches of a skorch ``Dataset`` by slicing.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (and ``y``, possibly None) as tensors or arrays; ``X`` may
        be a dict of them, all with one row per sample.
    batch_size : int, default=128
        Rows per batch.
    shuffle : bool, default=False
        Permute the rows once per epoch.
    rng : ShuffleRNG, optional
        Source of permutations; required for reproducible shuffling.
    drop_last : bool, default=False
        Drop a final batch smaller than ``batch_size`` (useful with batch norm).
    **kwargs
        Ignored ``DataLoader`` arguments that skorch may pass.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 128,
        shuffle: bool = False,
        rng: ShuffleRNG | None = None,
        drop_last: bool = False,
        **kwargs: Any,
    ) -> None:
        self.X = _as_tensor(dataset.X)
        self.y = _as_tensor(dataset.y)
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.rng = rng if rng is not None else ShuffleRNG(0)
        self.drop_last = drop_last

    def __len__(self) -> int:
        assert self.X is not None
        n = _n_rows(self.X)
        if self.drop_last and n >= self.batch_size:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor | None]]:
        X, y = self.X, self.y
        assert X is not None
        n = _n_rows(X)
        if self.shuffle:
            order = torch.from_numpy(self.rng.permutation(n))
            X = _rows(X, order)
            y = y[order] if y is not None else None
        for i in range(len(self)):
            batch = slice(i * self.batch_size, min((i + 1) * self.batch_size, n))
            yield _rows(X, batch), (y[batch] if y is not None else None)
