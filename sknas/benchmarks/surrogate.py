"""A surrogate benchmark: a regression model fitted on part of a table answers every query.

NAS-Bench-301's method (Siems et al., 2020): train a performance predictor on
a sample of evaluated architectures and let strategies query the predictor.
Fitted here on a tabular benchmark, so its quality can be checked against the
rows it did not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["SurrogateBenchmark", "SURROGATE_MODELS"]

#: Model names :meth:`SurrogateBenchmark.fit` understands.
SURROGATE_MODELS = ("hgb", "mlp")
#: Enumerate the space for :meth:`SurrogateBenchmark.optimum` up to this many architectures.
_MAX_ENUMERATED = 200_000


def _make_model(model: Any, random_state: int | None) -> Any:
    from sklearn.base import clone

    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=600, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=5,
            l2_regularization=1.0, early_stopping=False, random_state=random_state,
        )
    if model == "mlp":
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.neural_network import MLPRegressor
        from sklearn.preprocessing import StandardScaler

        return TransformedTargetRegressor(
            MLPRegressor(
                hidden_layer_sizes=(128, 128), alpha=1e-3, learning_rate_init=1e-3,
                max_iter=800, early_stopping=True, validation_fraction=0.1,
                n_iter_no_change=30, random_state=random_state,
            ),
            transformer=StandardScaler(),
        )
    if hasattr(model, "fit") and hasattr(model, "predict"):
        return clone(model)
    raise ValueError(
        f"SurrogateBenchmark: model must be one of {list(SURROGATE_MODELS)} or a "
        f"scikit-learn regressor, got {model!r}."
    )


def _architectures(benchmark: Any) -> list[Architecture]:
    if hasattr(benchmark, "architectures"):
        return list(benchmark.architectures())
    if hasattr(benchmark, "arch_at"):
        return [benchmark.arch_at(i) for i in range(len(benchmark))]
    raise TypeError(
        "SurrogateBenchmark.fit: the benchmark must list its architectures "
        "(an architectures() or arch_at(i) method)."
    )


class SurrogateBenchmark:
    """A regression model of a benchmark's metrics that answers every query.

    Build it with :meth:`fit`. It has the benchmark interface that
    :func:`~sknas.benchmarks.run_benchmark` needs (``search_space``,
    ``query``, ``optimum``, ``training_time``), so strategies run on it as on
    the table; :meth:`kendall_tau` measures the ranking quality on the rows the
    model did not see.

    Parameters
    ----------
    search_space : SearchSpace
        The space whose architectures it answers for.
    models : dict of str to regressor
        One fitted scikit-learn regressor per metric.
    encodings : tuple of str
        Encodings of the space concatenated into the features.
    train_index, held_out_index : numpy.ndarray
        Rows of the source table used for fitting and held back.
    source : object
        The benchmark it was fitted on.
    """

    def __init__(
        self,
        search_space: SearchSpace,
        models: dict[str, Any],
        encodings: tuple[str, ...],
        train_index: np.ndarray,
        held_out_index: np.ndarray,
        source: Any,
    ) -> None:
        self._space = search_space
        self.models = models
        self.encodings = encodings
        self.train_index = train_index
        self.held_out_index = held_out_index
        self.source = source
        self._cache: dict[str, dict[str, float]] = {name: {} for name in models}
        self._optimum: dict[str, float] = {}

    @classmethod
    def fit(
        cls,
        benchmark: Any,
        *,
        n_train: int | float = 0.1,
        model: Any = "hgb",
        encodings: str | Sequence[str] = "auto",
        metrics: Sequence[str] = ("valid", "test"),
        random_state: int | None = None,
    ) -> SurrogateBenchmark:
        """Fit a surrogate on a random sample of a benchmark's rows.

        Parameters
        ----------
        benchmark : TableBenchmark or NB201Benchmark
            The table to learn from.
        n_train : int or float, default=0.1
            Rows to fit on: a count, or a fraction of the table in (0, 1).
        model : {"hgb", "mlp"} or scikit-learn regressor, default="hgb"
            ``"hgb"``: ``HistGradientBoostingRegressor`` (gradient-boosted
            trees, NAS-Bench-301's best family). ``"mlp"``: a two-layer
            ``MLPRegressor`` (128 units, early stopping, standardised target).
            A regressor instance is cloned for each metric.
        encodings : "auto" or sequence of str, default="auto"
            Encodings of the space concatenated into the features. ``"auto"``
            takes ``"effective"`` where the space has it (NAS-Bench-201: the
            per-edge one-hot with the edges off every live path set to
            ``none``, plus operation counts), else the one-hot.
        metrics : sequence of str, default=("valid", "test")
            Metrics to model (at least the ones a search queries and reports).
        random_state : int, optional
            Seed of the sample and of the model.

        Returns
        -------
        SurrogateBenchmark
        """
        from sknas.benchmarks._table_space import TableSpace

        archs = _architectures(benchmark)
        n_rows = len(archs)
        if isinstance(n_train, float) and 0.0 < n_train < 1.0:
            size = int(round(n_train * n_rows))
        elif isinstance(n_train, (int, np.integer)) and not isinstance(n_train, bool):
            size = int(n_train)
        else:
            raise ValueError(
                f"n_train must be an int or a fraction in (0, 1), got {n_train!r}."
            )
        if not 2 <= size < n_rows:
            raise ValueError(
                f"n_train={n_train!r} gives {size} training rows; the table has {n_rows} "
                "and at least one must be held back."
            )
        space = benchmark.search_space
        if encodings == "auto":
            kinds: tuple[str, ...] = (
                ("effective",) if "effective" in space.encodings else ("onehot",)
            )
        else:
            kinds = tuple(encodings)
        unknown = [k for k in kinds if k not in space.encodings]
        if unknown or not kinds:
            raise ValueError(
                f"encodings {list(kinds)} are not all encodings of {type(space).__name__} "
                f"({list(space.encodings)})."
            )
        rng = np.random.default_rng(random_state)
        order = rng.permutation(n_rows)
        train, held_out = np.sort(order[:size]), np.sort(order[size:])
        if isinstance(space, TableSpace):  # answer every combination, not only the rows
            space = TableSpace(space.choices)
        X = _encode(space, [archs[i] for i in train], kinds)
        models = {}
        for metric in metrics:
            y = np.array([benchmark.query(archs[i], metric) for i in train])
            models[metric] = _make_model(model, random_state).fit(X, y)
        return cls(space, models, kinds, train, held_out, benchmark)

    # -- the benchmark interface ----------------------------------------------------
    @property
    def search_space(self) -> SearchSpace:
        """The space it answers for (every combination of a table's columns)."""
        return self._space

    def _arch(self, arch: Architecture | str | int) -> Architecture:
        if isinstance(arch, Architecture):
            return arch
        if isinstance(arch, (int, np.integer)):
            return _architectures_cached(self)[int(arch)]
        text = str(arch)
        if hasattr(self._space, "arch_from_str"):
            return self._space.arch_from_str(text)
        lookup = {a.key(): a for a in _architectures_cached(self)}
        if text in lookup:
            return lookup[text]
        params = dict(part.split("=", 1) for part in text.split("|"))
        distributions = self._space.distributions()
        typed = {}
        for name, value in params.items():
            choices = getattr(distributions.get(name), "choices", ())
            typed[name] = next((c for c in choices if str(c) == value), value)
        return self._space.decode(typed)

    def predict(self, archs: Sequence[Architecture], metric: str = "valid") -> np.ndarray:
        """Predictions of ``metric`` for several architectures at once.

        Parameters
        ----------
        archs : sequence of Architecture
            Architectures of :attr:`search_space`.
        metric : str, default="valid"
            A modelled metric.

        Returns
        -------
        numpy.ndarray of shape (len(archs),)
        """
        if metric not in self.models:
            raise ValueError(
                f"SurrogateBenchmark: metric {metric!r} is not modelled; "
                f"modelled: {list(self.models)}."
            )
        if not archs:
            return np.zeros(0)
        X = _encode(self._space, archs, self.encodings)
        return np.asarray(self.models[metric].predict(X), dtype=float)

    def query(self, arch: Architecture | str | int, metric: str = "valid") -> float:
        """The model's prediction of ``metric`` for ``arch``.

        Parameters
        ----------
        arch : Architecture, str or int
            An architecture of :attr:`search_space`, its key, or a row of the
            source table.
        metric : str, default="valid"
            A modelled metric.

        Returns
        -------
        float
        """
        resolved = self._arch(arch)
        cache = self._cache.get(metric)
        if cache is not None and resolved.key() in cache:
            return cache[resolved.key()]
        value = float(self.predict([resolved], metric)[0])
        if cache is not None:
            cache[resolved.key()] = value
        return value

    def training_time(self, arch: Architecture | str | int) -> float:
        """The source table's training time where it has the row, else 1.

        Parameters
        ----------
        arch : Architecture, str or int
            An architecture of :attr:`search_space`.

        Returns
        -------
        float
        """
        try:
            return float(self.source.training_time(self._arch(arch)))
        except (KeyError, IndexError, ValueError):
            return 1.0

    def optimum(self, metric: str = "test") -> float:
        """Largest prediction over the space (over the source's rows when too large to list).

        Parameters
        ----------
        metric : str, default="test"
            A modelled metric.

        Returns
        -------
        float
        """
        if metric not in self._optimum:
            archs = self._space.all_architectures()
            pool: list[Architecture] = []
            for arch in archs if archs is not None else ():
                pool.append(arch)
                if len(pool) > _MAX_ENUMERATED:
                    pool = []
                    break
            if not pool:
                pool = _architectures_cached(self)
            self._optimum[metric] = float(self.predict(pool, metric).max())
        return self._optimum[metric]

    # -- validation -------------------------------------------------------------------
    def kendall_tau(self, metric: str = "valid") -> float:
        """Kendall's tau between predictions and the table on the held-back rows.

        Parameters
        ----------
        metric : str, default="valid"
            A modelled metric.

        Returns
        -------
        float
        """
        from scipy.stats import kendalltau

        archs = _architectures_cached(self)
        held = [archs[i] for i in self.held_out_index]
        truth = np.array([self.source.query(a, metric) for a in held])
        tau = kendalltau(self.predict(held, metric), truth).statistic
        return float(tau)

    def __repr__(self) -> str:
        return (
            f"SurrogateBenchmark(n_train={len(self.train_index)}, "
            f"n_held_out={len(self.held_out_index)}, encodings={list(self.encodings)}, "
            f"metrics={list(self.models)})"
        )


def _architectures_cached(surrogate: SurrogateBenchmark) -> list[Architecture]:
    cached = surrogate.__dict__.get("_source_archs")
    if cached is None:
        cached = _architectures(surrogate.source)
        surrogate.__dict__["_source_archs"] = cached
    return cached


def _encode(space: SearchSpace, archs: Sequence[Architecture], kinds: Sequence[str]) -> np.ndarray:
    return np.stack([np.concatenate([space.encode(a, k) for k in kinds]) for a in archs])
