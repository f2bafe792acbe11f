"""Any table of results as a benchmark: rows are architectures, columns their metrics."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from sknas.benchmarks._table_space import TableSpace, table_key
from sknas.spaces.base import Architecture

__all__ = ["MissingArchitectureError", "TableBenchmark", "TableSpace"]


class MissingArchitectureError(optuna.TrialPruned, KeyError):
    """A query for a combination of column values that the table has no row for.

    It is a ``KeyError`` for a caller of :meth:`TableBenchmark.query` and an
    ``optuna.TrialPruned`` for the search loop, which marks the trial PRUNED:
    the proposal costs one query of the budget and leaves the incumbent as it was.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python value Optuna's categoricals accept."""
    return value.item() if isinstance(value, np.generic) else value


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


class TableBenchmark:
    """A table with one row per architecture, queried instead of training.

    The architecture of a row is given by its ``space_columns`` (categorical
    values); the :attr:`search_space` is a :class:`TableSpace` with one
    categorical per column over the distinct values the column takes, so every
    strategy runs on it: architecture-aware ones (local search, evolution,
    BANANAS, GP-BO) through its one-hot encoding and its one-column changes,
    Optuna's samplers through its distributions.

    Metrics: ``"valid"`` is ``search_metric`` (what a search sees) and
    ``"test"`` is ``report_metric`` (what is reported), both oriented so that
    larger is better (negated when ``maximize=False``), which is what
    :func:`~sknas.benchmarks.run_benchmark` expects; a column's own name gives
    its raw value. ``"time"`` is ``time_column``, or 1 per query.

    Missing combinations: when the table does not hold every combination of
    its columns' values, the space's own operators propose only rows of the
    table; an Optuna sampler that draws each column on its own may still
    propose an absent combination, and querying it raises
    :class:`MissingArchitectureError`, which the search loop records as a
    PRUNED trial (one query of the budget spent, the incumbent unchanged).

    Parameters
    ----------
    table : pandas.DataFrame or mapping of str to sequence
        The rows: architecture columns and numeric metric columns.
    space_columns : sequence of str
        The columns that define an architecture (each combination at most once).
    search_metric : str
        The column a search optimises.
    report_metric : str
        The column reported for the incumbent.
    maximize : bool, default=True
        Whether larger values of both metrics are better.
    time_column : str, optional
        A column of simulated training time (seconds) per row.
    source : str, optional
        Where the table came from (shown in messages).

    Examples
    --------
    >>> table = {"op": ["a", "a", "b", "b"], "width": [8, 16, 8, 16],
    ...          "valid": [1.0, 2.0, 3.0, 4.0], "test": [1.5, 2.5, 3.5, 3.9]}
    >>> bench = TableBenchmark(table, space_columns=["op", "width"],
    ...                        search_metric="valid", report_metric="test")
    >>> bench.optimum("valid"), bench.query("op=b|width=16", "test")
    (4.0, 3.9)
    >>> len(bench.search_space.neighbours(bench.arch_at(0)))
    2
    """

    def __init__(
        self,
        table: Any,
        *,
        space_columns: Sequence[str],
        search_metric: str,
        report_metric: str,
        maximize: bool = True,
        time_column: str | None = None,
        source: str | None = None,
    ) -> None:
        self.source = source
        self.maximize = bool(maximize)
        where = source or "the table"
        data = _columns_of(table)
        if isinstance(space_columns, str) or not space_columns:
            raise ValueError(
                "TableBenchmark: space_columns must be a non-empty list of column names, "
                f"got {space_columns!r}."
            )
        self.space_columns = tuple(space_columns)
        metrics = {"search_metric": search_metric, "report_metric": report_metric}
        if time_column is not None:
            metrics["time_column"] = time_column
        for name in [*self.space_columns, *metrics.values()]:
            if name not in data:
                raise ValueError(
                    f"TableBenchmark: {where} has no column {name!r}; columns: {list(data)}."
                )
        overlap = set(self.space_columns) & set(metrics.values())
        if overlap:
            raise ValueError(
                f"TableBenchmark: {sorted(overlap)} cannot be both an architecture column "
                "and a metric."
            )
        roles = {"valid": search_metric, "test": report_metric, "time": time_column}
        for alias, column in roles.items():
            if alias in data and column != alias:
                raise ValueError(
                    f"TableBenchmark: the column {alias!r} clashes with the metric name "
                    f"{alias!r} (which stands for {column!r}); rename it."
                )
        n_rows = len(data[self.space_columns[0]])
        if n_rows == 0:
            raise ValueError(f"TableBenchmark: {where} has no rows.")
        self.search_metric, self.report_metric = search_metric, report_metric
        self.time_column = time_column
        rows = [
            tuple(_scalar(data[c][i]) for c in self.space_columns) for i in range(n_rows)
        ]
        self._rows = rows
        self._keys = [table_key(self.space_columns, row) for row in rows]
        self._index = {key: i for i, key in enumerate(self._keys)}
        if len(self._index) != n_rows:
            repeated = next(k for i, k in enumerate(self._keys) if self._index[k] != i)
            raise ValueError(
                f"TableBenchmark: {where} has several rows for {repeated!r}; aggregate them "
                "first (e.g. DataFrame.groupby(space_columns).mean())."
            )
        self._columns: dict[str, np.ndarray] = {}
        for name in {*metrics.values(), *(c for c in data if c not in self.space_columns)}:
            try:
                self._columns[name] = np.asarray(data[name], dtype=float)
            except (TypeError, ValueError):
                if name in metrics.values():
                    raise ValueError(
                        f"TableBenchmark: metric column {name!r} of {where} holds a value "
                        "that is not a number."
                    ) from None
        for role, name in metrics.items():
            if np.isnan(self._columns[name]).any():
                bad = int(np.flatnonzero(np.isnan(self._columns[name]))[0])
                raise ValueError(
                    f"TableBenchmark: {role} column {name!r} is missing a value on row {bad} "
                    f"({self._keys[bad]!r}); drop such rows first."
                )
        self._raw = dict(self._columns)
        sign = 1.0 if self.maximize else -1.0
        self._columns["valid"] = sign * self._columns[search_metric]
        self._columns["test"] = sign * self._columns[report_metric]
        self._columns["time"] = (
            self._columns[time_column] if time_column is not None else np.ones(n_rows)
        )
        choices = {
            c: tuple(sorted({row[k] for row in rows}, key=_sort_key))
            for k, c in enumerate(self.space_columns)
        }
        full = int(np.prod([len(v) for v in choices.values()], dtype=float)) == n_rows
        self._space = TableSpace(choices, None if full else rows)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        *,
        space_columns: Sequence[str],
        search_metric: str,
        report_metric: str,
        maximize: bool = True,
        time_column: str | None = None,
    ) -> TableBenchmark:
        """Read the table from a CSV file (values of the architecture columns stay strings).

        Parameters
        ----------
        path : str or path-like
            A CSV file with a header row (``.gz`` is read compressed).
        space_columns : sequence of str
            The columns that define an architecture.
        search_metric : str
            The column a search optimises.
        report_metric : str
            The column reported for the incumbent.
        maximize : bool, default=True
            Whether larger values of both metrics are better.
        time_column : str, optional
            A column of simulated training time (seconds) per row.

        Returns
        -------
        TableBenchmark
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"TableBenchmark: no table at {str(path)!r}.")
        if path.suffix == ".gz":
            import gzip

            handle: Any = gzip.open(path, "rt", newline="")
        else:
            handle = path.open(newline="")
        with handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"TableBenchmark: {str(path)!r} is empty.")
            body = [row for row in reader if row]
        data = {name: [row[k] if k < len(row) else "" for row in body]
                for k, name in enumerate(header)}
        return cls(data, space_columns=space_columns, search_metric=search_metric,
                   report_metric=report_metric, maximize=maximize,
                   time_column=time_column, source=str(path))

    # -- queries -------------------------------------------------------------------
    @property
    def search_space(self) -> TableSpace:
        """The :class:`TableSpace` of the architecture columns."""
        return self._space

    @property
    def metrics(self) -> tuple[str, ...]:
        """Names :meth:`query` answers: ``valid``, ``test``, ``time`` and numeric columns."""
        return tuple(self._columns)

    def __len__(self) -> int:
        return len(self._keys)

    def index(self, arch: Architecture | str | int) -> int:
        """Row of an architecture, given as an Architecture, its key or a row number.

        Parameters
        ----------
        arch : Architecture, str or int
            An architecture of :attr:`search_space`, its key, or a row number.

        Returns
        -------
        int

        Raises
        ------
        MissingArchitectureError
            If the table has no row for that combination.
        """
        if isinstance(arch, (int, np.integer)):
            if not 0 <= int(arch) < len(self):
                raise IndexError(f"TableBenchmark: row {arch} outside 0..{len(self) - 1}.")
            return int(arch)
        key = arch.key() if isinstance(arch, Architecture) else str(arch)
        try:
            return self._index[key]
        except KeyError:
            raise MissingArchitectureError(
                f"TableBenchmark: the table has no row for {key!r} (a combination of "
                f"{list(self.space_columns)} it does not hold)."
            ) from None

    def _metric(self, metric: str) -> np.ndarray:
        try:
            return self._columns[metric]
        except KeyError:
            raise ValueError(
                f"TableBenchmark: unknown metric {metric!r}; valid: {list(self._columns)}."
            ) from None

    def query(self, arch: Architecture | str | int, metric: str = "valid") -> float:
        """Look up one metric of one architecture.

        Parameters
        ----------
        arch : Architecture, str or int
            An architecture of :attr:`search_space`, its key, or a row number.
        metric : str, default="valid"
            ``"valid"``, ``"test"``, ``"time"`` or a numeric column.

        Returns
        -------
        float
        """
        return float(self._metric(metric)[self.index(arch)])

    def values(self, metric: str) -> np.ndarray:
        """The metric of every row, in row order (a read-only view).

        Parameters
        ----------
        metric : str
            ``"valid"``, ``"test"``, ``"time"`` or a numeric column.

        Returns
        -------
        numpy.ndarray of shape (n_rows,)
        """
        view = self._metric(metric).view()
        view.flags.writeable = False
        return view

    def training_time(self, arch: Architecture | str | int) -> float:
        """Simulated seconds to train ``arch`` (``time_column``, else 1).

        Parameters
        ----------
        arch : Architecture, str or int
            An architecture of :attr:`search_space`, its key, or a row number.

        Returns
        -------
        float
        """
        return self.query(arch, "time")

    def higher_is_better(self, metric: str) -> bool:
        """True for ``valid`` and ``test``; for a raw metric column, ``maximize``.

        Parameters
        ----------
        metric : str
            A metric name.

        Returns
        -------
        bool
        """
        self._metric(metric)
        if metric in ("valid", "test"):
            return True
        if metric == "time" or metric == self.time_column:
            return False
        return self.maximize

    def optimum(self, metric: str = "test") -> float:
        """Best value of ``metric`` over all rows.

        Parameters
        ----------
        metric : str, default="test"
            A metric name.

        Returns
        -------
        float
        """
        values = self.values(metric)
        return float(values.max() if self.higher_is_better(metric) else values.min())

    def arch_at(self, index: int) -> Architecture:
        """The :class:`Architecture` of row ``index``.

        Parameters
        ----------
        index : int
            A row number.

        Returns
        -------
        Architecture
        """
        return self._space.decode(dict(zip(self.space_columns, self._row(int(index)))))

    def _row(self, index: int) -> tuple[Any, ...]:
        return self._rows[self.index(index)]

    def architectures(self) -> list[Architecture]:
        """Every row's architecture, in row order.

        Returns
        -------
        list of Architecture
        """
        return [self.arch_at(i) for i in range(len(self))]

    def subset(self, mask: Sequence[bool] | np.ndarray) -> TableBenchmark:
        """A benchmark on the rows where ``mask`` is True (a sub-space of this table).

        Parameters
        ----------
        mask : sequence of bool of shape (n_rows,)
            Rows to keep.

        Returns
        -------
        TableBenchmark
        """
        keep = np.flatnonzero(np.asarray(mask, dtype=bool))
        data: dict[str, list[Any]] = {
            c: [row[k] for row in (self._row(int(i)) for i in keep)]
            for k, c in enumerate(self.space_columns)
        }
        for name, values in self._raw.items():
            data[name] = values[keep].tolist()
        return TableBenchmark(
            data, space_columns=self.space_columns, search_metric=self.search_metric,
            report_metric=self.report_metric, maximize=self.maximize,
            time_column=self.time_column, source=self.source,
        )

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        return (
            f"TableBenchmark(n_rows={len(self)}, space_columns={list(self.space_columns)}, "
            f"search_metric={self.search_metric!r}, report_metric={self.report_metric!r}"
            f"{where})"
        )


def _columns_of(table: Any) -> dict[str, list[Any]]:
    """The columns of a DataFrame or a mapping of column -> sequence."""
    if hasattr(table, "columns") and hasattr(table, "__getitem__") and not isinstance(
        table, Mapping
    ):
        return {str(c): list(table[c]) for c in table.columns}
    if isinstance(table, Mapping):
        data = {str(c): list(v) for c, v in table.items()}
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise ValueError(f"TableBenchmark: the columns have different lengths {lengths}.")
        return data
    raise TypeError(
        f"TableBenchmark: table must be a pandas DataFrame or a mapping of column -> values, "
        f"got {type(table).__name__}."
    )
