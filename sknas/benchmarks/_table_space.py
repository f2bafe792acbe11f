"""The search space of a benchmark table: one categorical per architecture column."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution

from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["TableSpace", "table_key"]


def table_key(columns: Sequence[str], values: Sequence[Any]) -> str:
    """Canonical key of one row: ``"col=value|col=value"`` in column order.

    Parameters
    ----------
    columns : sequence of str
        The architecture columns.
    values : sequence
        One value per column.

    Returns
    -------
    str
    """
    return "|".join(f"{c}={v}" for c, v in zip(columns, values))


class TableSpace(SearchSpace):
    """Architectures given by the rows of a table: one categorical per column.

    Every column of ``choices`` is a categorical parameter whose choices are the
    distinct values it takes in the table. ``rows`` lists the combinations the
    table holds; when it does not hold every combination of the choices, the
    architecture-aware operators (:meth:`sample`, :meth:`mutate`,
    :meth:`neighbours`, :meth:`all_architectures`) only return rows of the
    table, while :meth:`decode` accepts any combination (an Optuna sampler
    draws each parameter on its own), and :meth:`contains` says whether the
    table has it. Built by :class:`~sknas.benchmarks.TableBenchmark`.

    Parameters
    ----------
    choices : mapping of str to sequence
        Column name -> its distinct values (str, int, float or bool).
    rows : sequence of tuple, optional
        The combinations present, one value per column in the order of
        ``choices``; None means every combination.

    Examples
    --------
    >>> space = TableSpace({"op": ["a", "b"], "width": [8, 16]})
    >>> arch = space.decode({"op": "b", "width": 16})
    >>> arch.key()
    'op=b|width=16'
    >>> [a.key() for a in space.neighbours(arch)]
    ['op=a|width=16', 'op=b|width=8']
    """

    name = "table"
    #: Categorical spaces with a one-change neighbourhood: local search (docs/strategies).
    default_strategy = "local_search"

    def __init__(
        self,
        choices: Mapping[str, Sequence[Any]],
        rows: Sequence[tuple[Any, ...]] | None = None,
    ) -> None:
        self.choices = choices
        self.rows = rows

    # -- structure -----------------------------------------------------------------
    @property
    def columns(self) -> tuple[str, ...]:
        """The architecture columns, in order."""
        return tuple(self.choices)

    def distributions(self) -> dict[str, BaseDistribution]:
        """One categorical per column, over its distinct values.

        Returns
        -------
        dict of str to optuna.distributions.CategoricalDistribution
        """
        return {name: CategoricalDistribution(tuple(v)) for name, v in self.choices.items()}

    def _present(self) -> frozenset[tuple[Any, ...]] | None:
        if self.rows is None:
            return None
        cached = self.__dict__.get("_present_cache")
        if cached is None or cached[0] is not self.rows:
            cached = (self.rows, frozenset(tuple(r) for r in self.rows))
            self.__dict__["_present_cache"] = cached
        return cached[1]

    def _arch(self, values: Sequence[Any]) -> Architecture:
        key = table_key(self.columns, values)
        return Architecture.from_params(
            self.name, dict(zip(self.columns, values)), canonical=key, description=key
        )

    def decode(self, params: Mapping[str, Any]) -> Architecture:
        """The architecture of a full parameter dict (present in the table or not).

        Parameters
        ----------
        params : mapping
            One value for each column.

        Returns
        -------
        Architecture
            Its key is ``"col=value|..."`` (see :func:`table_key`).
        """
        values = []
        for name, allowed in self.choices.items():
            if name not in params:
                raise ValueError(f"TableSpace: parameter {name!r} is missing.")
            if params[name] not in allowed:
                raise ValueError(
                    f"TableSpace: parameter {name!r}={params[name]!r} is not one of "
                    f"{list(allowed)}."
                )
            values.append(params[name])
        return self._arch(values)

    def values(self, arch: Architecture) -> tuple[Any, ...]:
        """The column values of ``arch``, in column order.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        tuple
        """
        params = arch.params
        return tuple(params[name] for name in self.columns)

    def contains(self, arch: Architecture) -> bool:
        """Whether the table has a row for ``arch``.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        bool
        """
        present = self._present()
        return present is None or self.values(arch) in present

    def all_architectures(self) -> Iterator[Architecture]:
        """Every row of the table (every combination when ``rows`` is None)."""
        if self.rows is not None:
            for row in self.rows:
                yield self._arch(row)
            return
        import itertools

        for combo in itertools.product(*self.choices.values()):
            yield self._arch(combo)

    # -- search operators that stay inside the table --------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """Draw a row of the table uniformly at random.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Architecture
        """
        if self.rows is not None:
            return self._arch(self.rows[int(rng.integers(len(self.rows)))])
        return super().sample(rng)

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A random row that differs from ``arch`` in one column.

        When the table has no such row, a random row (a restart).

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Architecture
        """
        candidates = self.neighbours(arch)
        if candidates:
            return candidates[int(rng.integers(len(candidates)))]
        return self.sample(rng)

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """The rows that differ from ``arch`` in exactly one column.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        list of Architecture
        """
        present = self._present()
        values = self.values(arch)
        result = []
        for position, allowed in enumerate(self.choices.values()):
            for value in allowed:
                if value == values[position]:
                    continue
                changed = (*values[:position], value, *values[position + 1 :])
                if present is None or changed in present:
                    result.append(self._arch(changed))
        return result

    def build_module(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> torch.nn.Module:
        """Not available: a table's rows are results, not networks.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        n_features_in : int
            Number of input features.
        n_outputs : int
            Number of outputs.

        Returns
        -------
        torch.nn.Module
            Never; always raises.

        Raises
        ------
        NotImplementedError
            Always.
        """
        raise NotImplementedError(
            "TableSpace describes the rows of a benchmark table; it builds no network. "
            "Search it with sknas.benchmarks.run_benchmark."
        )
