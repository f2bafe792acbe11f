"""Run a search strategy on a tabular benchmark, over seeds, through the search loop."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import optuna
from optuna.trial import TrialState

from sknas._search import ARCH_KEY_ATTR, DUPLICATE_ATTR, run_search
from sknas.samplers import make_sampler
from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["BenchmarkResult", "run_benchmark", "Strategy"]

SamplerFactory = Callable[[int, SearchSpace], optuna.samplers.BaseSampler]
#: A strategy name, a sampler (deep-copied per seed) or ``factory(seed, search_space)``.
Strategy = str | optuna.samplers.BaseSampler | SamplerFactory


class TabularBenchmark(Protocol):
    """What :func:`run_benchmark` needs from a benchmark."""

    @property
    def search_space(self) -> SearchSpace: ...

    def query(self, arch: Architecture | str | int, metric: str = ...) -> float: ...

    def optimum(self, metric: str = ...) -> float: ...

    def training_time(self, arch: Architecture | str | int) -> float: ...

    # Multi-objective runs also use ``values(metric)``, ``higher_is_better(metric)``
    # and ``index(arch)`` (the row recorded in ``BenchmarkResult.queried``).


@dataclass
class BenchmarkResult:
    """Trajectories of one strategy over several seeds; rows are seeds, columns queries.

    Parameters
    ----------
    strategy : str
        Name of the strategy.
    seeds : numpy.ndarray of shape (n_seeds,)
        The seed of each row.
    valid, test : numpy.ndarray of shape (n_seeds, n_trials)
        Validation (searched) and test (reported) metric of each query.
    incumbent_valid : numpy.ndarray of shape (n_seeds, n_trials)
        Best validation metric seen after each query.
    incumbent_test : numpy.ndarray of shape (n_seeds, n_trials)
        Reported metric of that incumbent (the architecture with the best
        validation metric so far; ties keep the earlier one).
    simulated_time : numpy.ndarray of shape (n_seeds, n_trials)
        Cumulative simulated training time after each query (a duplicate of
        an earlier query is answered from it and costs nothing).
    wall_time : numpy.ndarray of shape (n_seeds,)
        Seconds each run took (sampler, search loop and lookups).
    optimum_valid, optimum_test : float
        Best values over the whole table.
    queried : numpy.ndarray of int, shape (n_seeds, n_trials), optional
        Table index of every query (-1 where a query did not complete).
    hypervolume : numpy.ndarray of shape (n_seeds, n_trials), optional
        Multi-objective runs: hypervolume score of the received set after each
        query (see :class:`sknas.benchmarks.HypervolumeScorer`).
    objectives : tuple of str
        The searched metrics of a multi-objective run (empty otherwise).
    """

    strategy: str
    seeds: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    incumbent_valid: np.ndarray
    incumbent_test: np.ndarray
    simulated_time: np.ndarray
    wall_time: np.ndarray
    optimum_valid: float
    optimum_test: float
    queried: np.ndarray | None = None
    hypervolume: np.ndarray | None = None
    objectives: tuple[str, ...] = ()

    @property
    def n_seeds(self) -> int:
        """Number of runs."""
        return int(self.incumbent_test.shape[0])

    @property
    def n_trials(self) -> int:
        """Queries per run."""
        return int(self.incumbent_test.shape[1])

    @property
    def test_regret(self) -> np.ndarray:
        """``optimum_test - incumbent_test``, shape (n_seeds, n_trials)."""
        return self.optimum_test - self.incumbent_test

    def mean_se(
        self, queries: Sequence[int] | None = None, what: str = "incumbent_test"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean over seeds and its standard error after given numbers of queries.

        Parameters
        ----------
        queries : sequence of int, optional
            Query counts (1-based); all of ``1 .. n_trials`` when None.
        what : str, default="incumbent_test"
            An attribute of shape (n_seeds, n_trials), or ``"test_regret"``.

        Returns
        -------
        mean, se : numpy.ndarray of shape (len(queries),)
            ``se`` is the sample standard deviation over seeds divided by
            ``sqrt(n_seeds)`` (0 for a single seed).
        """
        data = np.asarray(getattr(self, what), dtype=float)
        if queries is None:
            columns = np.arange(self.n_trials)
        else:
            columns = np.asarray(queries, dtype=int) - 1
            if columns.size and (columns.min() < 0 or columns.max() >= self.n_trials):
                raise ValueError(
                    f"queries must lie in 1..{self.n_trials}, got {list(queries)}."
                )
        selected = data[:, columns]
        mean = np.nanmean(selected, axis=0)
        if self.n_seeds < 2:
            return mean, np.zeros_like(mean)
        se = np.nanstd(selected, axis=0, ddof=1) / np.sqrt(self.n_seeds)
        return mean, se

    @classmethod
    def from_runs(
        cls,
        strategy: str,
        runs: Sequence[dict[str, Any]],
        *,
        optimum_valid: float,
        optimum_test: float,
        hypervolume: np.ndarray | None = None,
        objectives: Sequence[str] = (),
    ) -> BenchmarkResult:
        """Stack the per-seed outputs of :func:`run_seed`.

        Parameters
        ----------
        strategy : str
            Name of the strategy.
        runs : sequence of dict
            One output of :func:`run_seed` per seed.
        optimum_valid : float
            Best validation value over the whole table.
        optimum_test : float
            Best test value over the whole table.
        hypervolume : numpy.ndarray, optional
            Hypervolume scores of a multi-objective run.
        objectives : sequence of str, default=()
            Searched metrics of a multi-objective run.

        Returns
        -------
        BenchmarkResult
        """
        def stack(name: str) -> np.ndarray:
            return np.stack([np.asarray(run[name], dtype=float) for run in runs])

        return cls(
            strategy=strategy,
            seeds=np.array([run["seed"] for run in runs]),
            valid=stack("valid"),
            test=stack("test"),
            incumbent_valid=stack("incumbent_valid"),
            incumbent_test=stack("incumbent_test"),
            simulated_time=stack("simulated_time"),
            wall_time=np.array([run["wall_time"] for run in runs], dtype=float),
            optimum_valid=optimum_valid,
            optimum_test=optimum_test,
            queried=np.stack([np.asarray(run["queried"], dtype=int) for run in runs]),
            hypervolume=hypervolume,
            objectives=tuple(objectives),
        )


def strategy_name(strategy: Strategy) -> str:
    """A printable name for a strategy."""
    if isinstance(strategy, str):
        return strategy
    if isinstance(strategy, optuna.samplers.BaseSampler):
        return type(strategy).__name__
    return str(getattr(strategy, "__name__", type(strategy).__name__))


def _build_sampler(
    strategy: Strategy, seed: int, space: SearchSpace
) -> optuna.samplers.BaseSampler:
    if isinstance(strategy, (str, optuna.samplers.BaseSampler)):
        return make_sampler(strategy, seed=seed, search_space=space)
    if callable(strategy):
        return strategy(seed, space)
    raise TypeError(
        f"strategy must be a name, an optuna sampler or a callable(seed, search_space), "
        f"got {strategy!r}."
    )


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def run_seed(
    benchmark: TabularBenchmark,
    strategy: Strategy,
    seed: int,
    n_trials: int,
    *,
    metric: str = "valid",
    report: str = "test",
    objectives: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One run: an in-memory study searched for ``n_trials`` queries.

    Parameters
    ----------
    benchmark : TabularBenchmark
        The table to query.
    strategy : str, optuna sampler or callable
        See :func:`run_benchmark`.
    seed : int
        Seed of the sampler.
    n_trials : int
        Number of queries.
    metric, report : str
        The searched and the reported metric.
    objectives : sequence of str, optional
        Several searched metrics (a multi-objective study; ``metric`` is
        then ``objectives[0]``).

    Returns
    -------
    dict
        Arrays ``valid``, ``test``, ``incumbent_valid``, ``incumbent_test``,
        ``simulated_time``, ``queried`` of length ``n_trials``, plus ``seed``
        and ``wall_time``.
    """
    space = benchmark.search_space
    metrics = [metric] if objectives is None else list(objectives)
    metric = metrics[0]
    table: Any = benchmark  # a multi-objective run also reads higher_is_better
    directions: list[Any] = ["maximize"] if objectives is None else [
        "maximize" if table.higher_is_better(m) else "minimize" for m in metrics
    ]
    index_of = getattr(benchmark, "index", None)  # tables without an index record -1
    start = time.perf_counter()
    with _quiet_optuna():
        study = optuna.create_study(
            directions=directions, sampler=_build_sampler(strategy, seed, space)
        )
        run_search(
            study,
            space,
            lambda trial, arch: (
                benchmark.query(arch, metric) if objectives is None
                else [benchmark.query(arch, m) for m in metrics]
            ),
            n_trials=n_trials,
            catch=False,
        )
    wall = time.perf_counter() - start
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    valid = np.full(n_trials, np.nan)
    test = np.full(n_trials, np.nan)
    cost = np.zeros(n_trials)
    queried = np.full(n_trials, -1, dtype=int)
    for k, trial in enumerate(trials[:n_trials]):
        if trial.state != TrialState.COMPLETE or not trial.values:
            continue
        key = trial.user_attrs[ARCH_KEY_ATTR]
        queried[k] = -1 if index_of is None else index_of(key)
        valid[k] = trial.values[0]
        test[k] = benchmark.query(key, report)
        if DUPLICATE_ATTR not in trial.user_attrs:
            cost[k] = benchmark.training_time(key)
    inc_valid = np.full(n_trials, np.nan)
    inc_test = np.full(n_trials, np.nan)
    best = -np.inf
    best_test = np.nan
    for k in range(n_trials):
        if not np.isnan(valid[k]) and valid[k] > best:
            best, best_test = valid[k], test[k]
        if best > -np.inf:
            inc_valid[k], inc_test[k] = best, best_test
    return {
        "seed": int(seed),
        "valid": valid,
        "test": test,
        "incumbent_valid": inc_valid,
        "incumbent_test": inc_test,
        "simulated_time": np.cumsum(cost),
        "queried": queried,
        "wall_time": wall,
    }


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (or a list of seeds), got {seeds}.")
        return list(range(int(seeds)))
    result = [int(s) for s in seeds]
    if not result:
        raise ValueError("seeds must not be empty.")
    return result


def run_benchmark(
    benchmark: TabularBenchmark,
    strategy: Strategy,
    *,
    n_trials: int,
    seeds: int | Sequence[int],
    n_jobs: int = 1,
    metric: str = "valid",
    report: str = "test",
    objectives: Sequence[str] | None = None,
) -> BenchmarkResult:
    """Run one strategy on a tabular benchmark, once per seed.

    Each run creates an in-memory Optuna study whose sampler comes from
    ``strategy`` and drives it with :func:`sknas._search.run_search` (the
    search loop the estimators use); the objective looks up ``metric``. After
    each query the incumbent is the architecture with the best ``metric`` so
    far, and its ``report`` metric is recorded.

    Parameters
    ----------
    benchmark : NB201Benchmark or another tabular benchmark
        The table to query.
    strategy : str, optuna.samplers.BaseSampler or callable
        A name known to :func:`sknas.samplers.make_sampler` (built with
        ``seed=seed`` and the benchmark's search space), a sampler instance
        (deep-copied for each seed, so a seeded instance repeats one run), or
        ``factory(seed, search_space)`` returning a new sampler.
    n_trials : int
        Queries per run.
    seeds : int or sequence of int
        The seeds, or their number (``range(seeds)``).
    n_jobs : int, default=1
        Runs in parallel processes (joblib); ``-1`` uses every core.
    metric : str, default="valid"
        The metric the search maximises.
    report : str, default="test"
        The metric reported for the incumbent.
    objectives : sequence of str, optional
        Several searched metrics, e.g. ``("valid", "latency")``: each run is a
        multi-objective study, and ``hypervolume`` scores the non-dominated
        set of its queries on ``(report, *objectives[1:])`` (see
        :class:`sknas.benchmarks.HypervolumeScorer`).

    Returns
    -------
    BenchmarkResult

    Examples
    --------
    >>> bench = NB201Benchmark.from_csv("nb201_cifar10.csv")  # doctest: +SKIP
    >>> result = run_benchmark(bench, "random", n_trials=150, seeds=10)  # doctest: +SKIP
    >>> mean, se = result.mean_se([50, 100, 150])  # doctest: +SKIP
    """
    if not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}.")
    seed_list = _seed_list(seeds)
    if objectives is not None:
        objectives = tuple(objectives)
        if len(objectives) < 2:
            raise ValueError(
                f"objectives must name two metrics or more, e.g. ('valid', 'latency'); "
                f"got {objectives!r}."
            )
        table: Any = benchmark
        for name in objectives:
            table.values(name)  # an unknown metric fails before any run
        metric = objectives[0]
    kwargs: dict[str, Any] = {"metric": metric, "report": report, "objectives": objectives}
    if n_jobs == 1 or len(seed_list) == 1:
        runs = [run_seed(benchmark, strategy, s, int(n_trials), **kwargs) for s in seed_list]
    else:
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=n_jobs)(
            delayed(run_seed)(benchmark, strategy, s, int(n_trials), **kwargs)
            for s in seed_list
        )
    scores = None
    if objectives is not None:
        from sknas.benchmarks._hypervolume import HypervolumeScorer

        scorer = HypervolumeScorer(benchmark, objectives, (report, *objectives[1:]))
        scores = scorer.trajectory(np.stack([run["queried"] for run in runs]))
    return BenchmarkResult.from_runs(
        strategy_name(strategy),
        runs,
        optimum_valid=benchmark.optimum(metric),
        optimum_test=benchmark.optimum(report),
        hypervolume=scores,
        objectives=objectives or (),
    )
