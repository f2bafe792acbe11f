"""NAS-Bench-201 as a lookup table: the bundled CIFAR-10 table or a CSV file the user gives."""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sknas.spaces.base import Architecture
from sknas.spaces.nb201 import NB201Space

__all__ = ["NB201Benchmark", "NB201_METRICS", "BUNDLED_TABLE"]

#: The NAS-Bench-201 CIFAR-10 table shipped inside the package (NATS-Bench, MIT;
#: see ``sknas/benchmarks/data/NOTICE``).
BUNDLED_TABLE = Path(__file__).resolve().parent / "data" / "nb201_cifar10.csv.gz"

#: Short metric names and the CSV column each reads (``{dataset}`` is filled in).
NB201_METRICS: dict[str, str] = {
    "valid": "{dataset}_valid_acc_12ep",
    "test": "{dataset}_test_acc_200ep",
    "params": "{dataset}_params_m",
    "flops": "{dataset}_flops_m",
}
# Read when present (not required).
_OPTIONAL_METRICS: dict[str, str] = {"test_12ep": "{dataset}_test_acc_12ep"}
# Metrics where smaller is better; every other metric is an accuracy.
_MINIMISE = frozenset({"params", "flops", "time", "latency"})


class NB201Benchmark:
    """Results of every NAS-Bench-201 cell, queried instead of training.

    Build it with :meth:`bundled` (the CIFAR-10 table shipped with sknas) or
    :meth:`from_csv` (any table in the same format). Metrics (short names; the CSV column names
    are accepted too):

    - ``"valid"``: validation accuracy (%) after NAS-Bench-201's 12-epoch
      schedule, ``<dataset>_valid_acc_12ep``. This is what a search may see.
    - ``"test"``: test accuracy (%) after the 200-epoch schedule,
      ``<dataset>_test_acc_200ep``. This is what a search reports.
    - ``"params"``: parameters in millions, ``<dataset>_params_m``.
    - ``"flops"``: MFLOPs, ``<dataset>_flops_m``.
    - ``"time"``: simulated seconds to train the candidate for the 12-epoch
      schedule. The table has no timing column, so this is a proxy
      proportional to the cell's FLOPs: ``seconds_per_mflop * flops``
      (with the default 1.0, one simulated second per MFLOP; the mean cell
      costs about 55 s).
    - ``"test_12ep"``: test accuracy after 12 epochs, when the CSV has it.

    Parameters
    ----------
    arch_strs : sequence of str
        Official ``arch_str`` of each row, in index order.
    columns : dict of str to numpy.ndarray
        One array per short metric name, aligned with ``arch_strs``.
    dataset : str, default="cifar10"
        Name of the data set the numbers belong to.
    seconds_per_mflop : float, default=1.0
        Scale of the simulated training time.
    source : str, optional
        Where the table was read from (shown in messages).

    Examples
    --------
    >>> bench = NB201Benchmark.bundled()
    >>> bench.best_index("test"), round(bench.optimum("test"), 4)
    (6111, 94.3733)
    >>> arch = bench.search_space.sample(np.random.default_rng(0))
    >>> 0.0 <= bench.query(arch, "valid") <= 100.0
    True
    """

    def __init__(
        self,
        arch_strs: Sequence[str],
        columns: dict[str, np.ndarray],
        *,
        dataset: str = "cifar10",
        seconds_per_mflop: float = 1.0,
        source: str | None = None,
    ) -> None:
        self.arch_strs = tuple(arch_strs)
        self.dataset = dataset
        self.seconds_per_mflop = float(seconds_per_mflop)
        self.source = source
        self._index = {s: i for i, s in enumerate(self.arch_strs)}
        if len(self._index) != len(self.arch_strs):
            raise ValueError(f"NB201Benchmark: {source or 'the table'} repeats an arch_str.")
        self._columns = {name: np.asarray(v, dtype=float) for name, v in columns.items()}
        for name, values in self._columns.items():
            if values.shape != (len(self.arch_strs),):
                raise ValueError(
                    f"NB201Benchmark: column {name!r} has shape {values.shape}, "
                    f"expected ({len(self.arch_strs)},)."
                )
        if "flops" in self._columns:
            self._columns["time"] = self.seconds_per_mflop * self._columns["flops"]
        self._space = NB201Space()

    # -- loading -------------------------------------------------------------------
    @classmethod
    def bundled(cls, *, seconds_per_mflop: float = 1.0) -> NB201Benchmark:
        """The NAS-Bench-201 CIFAR-10 table shipped inside sknas.

        All 15,625 cells with the columns the benchmark reads (12-epoch
        validation and test accuracy, 200-epoch test accuracy, parameters,
        FLOPs), from the NATS-Bench topology-space release (MIT licence; see
        ``sknas/benchmarks/data/NOTICE``).

        Parameters
        ----------
        seconds_per_mflop : float, default=1.0
            Scale of the simulated training time (see the class docstring).

        Returns
        -------
        NB201Benchmark
        """
        return cls.from_csv(BUNDLED_TABLE, "cifar10", seconds_per_mflop=seconds_per_mflop)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str] | None = None,
        dataset: str = "cifar10",
        *,
        seconds_per_mflop: float = 1.0,
        latency: str | os.PathLike[str] | None = None,
        device: str | None = None,
    ) -> NB201Benchmark:
        """Load the table from a CSV file (never downloads anything).

        Parameters
        ----------
        path : str or path-like, optional
            A CSV (or gzip-compressed ``.csv.gz``) with an ``arch_str`` column
            and the columns ``<dataset>_valid_acc_12ep``,
            ``<dataset>_test_acc_200ep``, ``<dataset>_params_m`` and
            ``<dataset>_flops_m``. None reads the bundled CIFAR-10 table
            (:meth:`bundled`).
        dataset : str, default="cifar10"
            Prefix of the metric columns.
        seconds_per_mflop : float, default=1.0
            Scale of the simulated training time (see the class docstring).
        latency : str or path-like, optional
            A latency table (``nb201_latency.csv.gz``: ``arch_str`` and
            ``lat_<device>_ms`` columns); with ``device`` it adds the metric
            ``"latency"`` (ms, smaller is better).
        device : str, optional
            The latency table's device, e.g. ``"pixel3"`` or ``"fpga"``.

        Returns
        -------
        NB201Benchmark

        Raises
        ------
        FileNotFoundError
            If ``path`` (or ``latency``) does not exist.
        ValueError
            If a required column is missing or a value is not a number.
        """
        if path is None:
            path = BUNDLED_TABLE
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"NB201Benchmark: no NAS-Bench-201 table at {str(path)!r}; pass the path of "
                "the CSV (e.g. nb201_cifar10.csv). Nothing is downloaded."
            )
        header, rows = _read_rows(path)
        wanted = {"arch_str": "arch_str"}
        wanted.update({k: v.format(dataset=dataset) for k, v in NB201_METRICS.items()})
        missing = [col for col in wanted.values() if col not in header]
        if missing:
            prefixes = sorted({c[: -len("_valid_acc_12ep")] for c in header
                               if c.endswith("_valid_acc_12ep")})
            raise ValueError(
                f"NB201Benchmark: {str(path)!r} lacks the column(s) {missing} "
                f"(dataset={dataset!r}; data sets in this file: {prefixes})."
            )
        for key, template in _OPTIONAL_METRICS.items():
            if template.format(dataset=dataset) in header:
                wanted[key] = template.format(dataset=dataset)
        positions = {key: header.index(col) for key, col in wanted.items()}
        if "arch_index" in header:  # keep the official index order
            at = header.index("arch_index")
            try:
                rows.sort(key=lambda row: int(row[at]))
            except (ValueError, IndexError):
                raise ValueError(
                    f"NB201Benchmark: column 'arch_index' of {str(path)!r} holds a value "
                    "that is not an integer."
                ) from None
        arch_strs = [row[positions["arch_str"]] for row in rows]
        columns: dict[str, np.ndarray] = {}
        for key, col in wanted.items():
            if key == "arch_str":
                continue
            try:
                columns[key] = np.array([float(row[positions[key]]) for row in rows])
            except (ValueError, IndexError) as exc:
                raise ValueError(
                    f"NB201Benchmark: column {col!r} of {str(path)!r} holds a value "
                    f"that is not a number ({exc})."
                ) from None
        if arch_strs:
            NB201Space().arch_from_str(arch_strs[0])  # fail early on a foreign format
        if (latency is None) != (device is None):
            raise ValueError(
                "NB201Benchmark: latency= (the latency table's path) and device= (one of its "
                f"devices) go together; got latency={latency!r}, device={device!r}."
            )
        if latency is not None and device is not None:
            columns["latency"] = _latency_column(latency, device, arch_strs)
        return cls(
            arch_strs,
            columns,
            dataset=dataset,
            seconds_per_mflop=seconds_per_mflop,
            source=str(path),
        )

    # -- queries -------------------------------------------------------------------
    @property
    def search_space(self) -> NB201Space:
        """The :class:`~sknas.spaces.NB201Space` whose cells this table covers."""
        return self._space

    @property
    def metrics(self) -> tuple[str, ...]:
        """Short names of the metrics this table answers."""
        return tuple(self._columns)

    def __len__(self) -> int:
        return len(self.arch_strs)

    def _metric(self, metric: str) -> str:
        if metric in self._columns:
            return metric
        for key, template in {**NB201_METRICS, **_OPTIONAL_METRICS}.items():
            if metric == template.format(dataset=self.dataset) and key in self._columns:
                return key
        raise ValueError(
            f"NB201Benchmark: unknown metric {metric!r}; valid: {list(self._columns)} "
            "or their column names."
        )

    def index(self, arch: Architecture | str | int) -> int:
        """Official index of a cell, given as an Architecture, an ``arch_str`` or an index.

        Parameters
        ----------
        arch : Architecture, str or int
            A cell: an Architecture, its ``arch_str`` or its official index.

        Returns
        -------
        int
        """
        if isinstance(arch, (int, np.integer)):
            if not 0 <= int(arch) < len(self.arch_strs):
                raise IndexError(f"NB201Benchmark: index {arch} outside 0..{len(self) - 1}.")
            return int(arch)
        key = arch.key() if isinstance(arch, Architecture) else str(arch)
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f"NB201Benchmark: {key!r} is not a cell of this table.") from None

    def query(self, arch: Architecture | str | int, metric: str = "valid") -> float:
        """Look up one metric of one cell.

        Parameters
        ----------
        arch : Architecture, str or int
            The cell (an :class:`Architecture` of :attr:`search_space`, its
            ``arch_str``, or its official index).
        metric : str, default="valid"
            A short metric name (see the class docstring) or a column name.

        Returns
        -------
        float
        """
        return float(self._columns[self._metric(metric)][self.index(arch)])

    def values(self, metric: str) -> np.ndarray:
        """The metric of every cell, in index order (a read-only view).

        Parameters
        ----------
        metric : str
            A column of the table (``"valid"``, ``"test"``, ``"params"``, ``"time"``...).

        Returns
        -------
        numpy.ndarray of shape (n_cells,)
        """
        view = self._columns[self._metric(metric)].view()
        view.flags.writeable = False
        return view

    def training_time(self, arch: Architecture | str | int) -> float:
        """Simulated seconds to train ``arch`` (see the class docstring).

        Parameters
        ----------
        arch : Architecture, str or int
            A cell: an Architecture, its ``arch_str`` or its official index.

        Returns
        -------
        float
        """
        return self.query(arch, "time")

    def higher_is_better(self, metric: str) -> bool:
        """True for accuracies, False for costs (params, flops, time).

        Parameters
        ----------
        metric : str
            A column of the table (``"valid"``, ``"test"``, ``"params"``, ``"time"``...).

        Returns
        -------
        bool
        """
        return self._metric(metric) not in _MINIMISE

    def optimum(self, metric: str = "test") -> float:
        """Best value of ``metric`` over all cells (maximum accuracy, minimum cost).

        Parameters
        ----------
        metric : str, default="test"
            A column of the table.

        Returns
        -------
        float
        """
        values = self.values(metric)
        return float(values.max() if self.higher_is_better(metric) else values.min())

    def best_index(self, metric: str = "test") -> int:
        """Index of the first cell that attains :meth:`optimum`.

        Parameters
        ----------
        metric : str, default="test"
            A column of the table.

        Returns
        -------
        int
        """
        values = self.values(metric)
        return int(values.argmax() if self.higher_is_better(metric) else values.argmin())

    def arch_at(self, index: int) -> Architecture:
        """The :class:`Architecture` at an official index.

        Parameters
        ----------
        index : int
            An official index.

        Returns
        -------
        Architecture
        """
        return self._space.arch_from_str(self.arch_strs[self.index(int(index))])

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        return f"NB201Benchmark(n_cells={len(self)}, dataset={self.dataset!r}{where})"


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file, gzip-compressed when its name ends in ``.gz``."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as raw:
                text = raw.read().decode()
        else:
            text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"NB201Benchmark: cannot read {str(path)!r} as a CSV ({exc}).") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ValueError(f"NB201Benchmark: {str(path)!r} is empty.")
    return header, list(reader)


def _latency_column(
    path: str | os.PathLike[str], device: str, arch_strs: Sequence[str]
) -> np.ndarray:
    """One device's latencies aligned with ``arch_strs`` (every cell must be listed)."""
    from sknas.latency import read_latency_table

    names, values = read_latency_table(path, device)
    by_str = dict(zip(names, values))
    missing = [s for s in arch_strs if s not in by_str]
    if missing:
        raise ValueError(
            f"NB201Benchmark: the latency table {str(path)!r} lacks {len(missing)} cells of "
            f"the table, e.g. {missing[0]!r}."
        )
    return np.array([by_str[s] for s in arch_strs], dtype=float)
