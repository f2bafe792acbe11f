"""Every parameter as a finite choice, for policies over choices (REINFORCE).

A categorical parameter is its own choice; an integer with at most ``n_bins``
values is one choice per value; any other numeric parameter is cut into
``n_bins`` equal bins of its (log-)range, and a value is drawn uniformly inside
the chosen bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from sknas.spaces.encoding import _from_unit, _snap, _to_unit

__all__ = ["ChoiceSpace"]


class ChoiceSpace:
    """Maps parameter values to and from choice indices.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space.
    n_bins : int
        Bins of a numeric parameter with more than ``n_bins`` values.
    """

    def __init__(self, distributions: Mapping[str, BaseDistribution], n_bins: int) -> None:
        self.distributions = dict(distributions)
        self.n_bins = n_bins
        self.sizes: list[int] = []
        for dist in self.distributions.values():
            self.sizes.append(self._size(dist))

    def _size(self, dist: BaseDistribution) -> int:
        if isinstance(dist, CategoricalDistribution):
            return len(dist.choices)
        if isinstance(dist, IntDistribution) and not dist.log:
            n_values = (dist.high - dist.low) // dist.step + 1
            if n_values <= self.n_bins:
                return int(n_values)
        return self.n_bins

    def _exact(self, dist: BaseDistribution, size: int) -> bool:
        return (
            isinstance(dist, IntDistribution)
            and not dist.log
            and (dist.high - dist.low) // dist.step + 1 == size
        )

    def to_indices(self, params: Mapping[str, Any]) -> list[int]:
        """Choice index of each parameter."""
        indices = []
        for (name, dist), size in zip(self.distributions.items(), self.sizes):
            value = params[name]
            if isinstance(dist, CategoricalDistribution):
                indices.append(int(dist.to_internal_repr(value)))
            elif isinstance(dist, IntDistribution) and self._exact(dist, size):
                indices.append(int((int(value) - dist.low) // dist.step))
            else:
                assert isinstance(dist, (IntDistribution, FloatDistribution))
                log = dist.log and dist.low > 0
                u = _to_unit(float(value), dist.low, dist.high, log)
                indices.append(min(int(u * size), size - 1))
        return indices

    def to_params(self, indices: list[int], rng: np.random.Generator) -> dict[str, Any]:
        """Parameter values of choice indices (uniform inside numeric bins)."""
        params: dict[str, Any] = {}
        for (name, dist), size, index in zip(self.distributions.items(), self.sizes, indices):
            if isinstance(dist, CategoricalDistribution):
                params[name] = dist.choices[index]
            elif isinstance(dist, IntDistribution) and self._exact(dist, size):
                params[name] = int(dist.low + index * dist.step)
            else:
                assert isinstance(dist, (IntDistribution, FloatDistribution))
                log = dist.log and dist.low > 0
                u = (index + float(rng.random())) / size
                params[name] = _snap(dist, _from_unit(u, dist.low, dist.high, log))
        return params
