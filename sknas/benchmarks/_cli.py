"""Command line of ``python -m sknas.benchmarks``.

Example::

    python -m sknas.benchmarks nb201 \\
        --strategies random tpe evolution:30 --seeds 100 --trials 150 --jobs 2 --plot out.png

    python -m sknas.benchmarks table results.csv --space-columns op_a op_b \\
        --search-metric valid_acc --report-metric test_acc --strategies random local_search

A strategy written ``name:N`` runs on ``N`` seeds instead of ``--seeds``. Without
``--data`` the NAS-Bench-201 CIFAR-10 table bundled with sknas is used.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import numpy as np

from sknas.benchmarks._cli_multi import add_arguments as add_multi_arguments
from sknas.benchmarks._cli_multi import latency_options, summarise
from sknas.benchmarks._runner import BenchmarkResult, run_seed
from sknas.benchmarks.nb201 import NB201Benchmark
from sknas.benchmarks.table import TableBenchmark

__all__ = ["main", "format_table"]


def _parse_strategy(text: str, default_seeds: int) -> tuple[str, int]:
    name, sep, count = text.partition(":")
    if not sep:
        return name, default_seeds
    try:
        n_seeds = int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad strategy {text!r}; use NAME or NAME:N_SEEDS"
        ) from None
    if n_seeds < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of seeds must be >= 1")
    return name, n_seeds


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m sknas.benchmarks",
        description="Run NAS strategies on a tabular benchmark and report the incumbent's "
        "reported metric (mean ± standard error over seeds).",
    )
    sub = parser.add_subparsers(dest="benchmark", required=True)
    nb201 = sub.add_parser("nb201", help="NAS-Bench-201 (bundled CIFAR-10 table or a CSV file)")
    nb201.add_argument(
        "--data", default=None,
        help="path of nb201_<dataset>.csv (default: the bundled CIFAR-10 table)",
    )
    nb201.add_argument("--dataset", default="cifar10", help="column prefix (default cifar10)")
    _add_run_arguments(nb201)
    nb201.add_argument("--seconds-per-mflop", type=float, default=1.0,
                       help="scale of the simulated training time")
    add_multi_arguments(nb201)
    table = sub.add_parser(
        "table", help="any CSV table: one row per architecture, categorical columns"
    )
    table.add_argument("data", help="path of the CSV file (.csv or .csv.gz)")
    table.add_argument("--space-columns", nargs="+", required=True,
                       help="the columns that define an architecture")
    table.add_argument("--search-metric", required=True, help="the column a search optimises")
    table.add_argument("--report-metric", required=True,
                       help="the column reported for the incumbent")
    table.add_argument("--minimize", action="store_true",
                       help="smaller metric values are better (errors, losses)")
    table.add_argument("--time-column", default=None,
                       help="a column of training seconds per row (default: 1 per query)")
    _add_run_arguments(table)
    return parser


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strategies", nargs="+", default=["random", "tpe"],
        help="strategy names (as in sknas.samplers.STRATEGIES); NAME:N runs N seeds",
    )
    parser.add_argument("--seeds", type=int, default=10, help="seeds per strategy (0..N-1)")
    parser.add_argument("--trials", type=int, default=150, help="queries per run")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (-1: all cores)")
    parser.add_argument(
        "--queries", type=int, nargs="+", default=None,
        help="query counts shown in the table (default 50 100 150, capped at --trials)",
    )
    parser.add_argument("--plot", default=None, help="write a PNG of test regret vs queries")
    parser.add_argument("--json", default=None, help="write the table as JSON")


def format_table(
    results: Sequence[BenchmarkResult], queries: Sequence[int], optimum: float
) -> str:
    """Mean ± standard error of the incumbent's reported metric, one row per strategy."""
    header = ["strategy", "seeds", *[f"@{q}" for q in queries], f"regret@{queries[-1]}", "s/run"]
    rows = []
    for result in results:
        mean, se = result.mean_se(queries)
        regret, regret_se = result.mean_se([queries[-1]], what="test_regret")
        rows.append(
            [result.strategy, str(result.n_seeds)]
            + [f"{m:.2f} ± {s:.2f}" for m, s in zip(mean, se)]
            + [f"{regret[0]:.2f} ± {regret_se[0]:.2f}", f"{result.wall_time.mean():.2f}"]
        )
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"optimum {optimum:.2f}")
    return "\n".join(lines)


def _run_all(
    bench: NB201Benchmark | TableBenchmark, plan: list[tuple[str, int]], n_trials: int,
    n_jobs: int, objectives: Sequence[str] | None = None,
) -> list[BenchmarkResult]:
    jobs = [(name, seed) for name, n_seeds in plan for seed in range(n_seeds)]
    metric = objectives[0] if objectives else "valid"
    if n_jobs == 1:
        runs = [run_seed(bench, name, seed, n_trials, metric=metric, objectives=objectives)
                for name, seed in jobs]
    else:
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=n_jobs)(
            delayed(run_seed)(bench, name, seed, n_trials, metric=metric, objectives=objectives)
            for name, seed in jobs
        )
    results = []
    for name, _ in plan:
        mine = [run for (job_name, _), run in zip(jobs, runs) if job_name == name]
        results.append(
            BenchmarkResult.from_runs(
                name, mine, optimum_valid=bench.optimum("valid"),
                optimum_test=bench.optimum("test"),
            )
        )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    from sknas.samplers import STRATEGIES

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.trials < 1:
        parser.error("--seeds and --trials must be >= 1")
    try:
        plan = [_parse_strategy(text, args.seeds) for text in args.strategies]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    names = [name for name, _ in plan]
    if len(set(names)) != len(names):
        parser.error(f"a strategy is listed twice in {args.strategies}")
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies {unknown}; registered: {sorted(STRATEGIES)}")
    queries = args.queries or [q for q in (50, 100, 150) if q <= args.trials] or [args.trials]
    if any(q < 1 or q > args.trials for q in queries):
        parser.error(f"--queries must lie in 1..{args.trials}")
    bench: NB201Benchmark | TableBenchmark
    try:
        if args.benchmark == "nb201":
            bench = NB201Benchmark.from_csv(
                args.data, args.dataset, seconds_per_mflop=args.seconds_per_mflop,
                **latency_options(args),
            )
            title = f"NAS-Bench-201 {args.dataset}"
            what = "test accuracy (%) of the incumbent (best validation accuracy so far)"
        else:
            bench = TableBenchmark.from_csv(
                args.data, space_columns=args.space_columns,
                search_metric=args.search_metric, report_metric=args.report_metric,
                maximize=not args.minimize, time_column=args.time_column,
            )
            title = f"{args.data} ({len(bench)} rows)"
            sign = "-" if args.minimize else ""
            what = (
                f"{sign}{args.report_metric} of the incumbent (best {sign}"
                f"{args.search_metric} so far)"
            )
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    objectives = getattr(args, "objectives", None)  # the nb201 subcommand has them
    if objectives is not None and (
        len(objectives) < 2 or any(m not in bench.metrics for m in objectives)
    ):
        parser.error(f"--objectives needs two metrics or more among {list(bench.metrics)}")

    start = time.perf_counter()
    results = _run_all(bench, plan, args.trials, args.jobs, objectives)
    elapsed = time.perf_counter() - start
    if objectives is not None:
        summarise(args, bench, results, queries)
        print(f"total {elapsed:.1f} s with {args.jobs} job(s)")
        return 0
    optimum = bench.optimum("test")
    print(f"{title}: {what}, mean ± standard error over seeds, {args.trials} queries per run")
    print(format_table(results, queries, optimum))
    print(f"total {elapsed:.1f} s with {args.jobs} job(s)")
    if args.json:
        summary = {
            "benchmark": title, "dataset": getattr(args, "dataset", None),
            "n_trials": args.trials, "optimum_test": optimum,
            "queries": list(queries),
            "strategies": {
                r.strategy: {
                    "n_seeds": r.n_seeds,
                    "mean": r.mean_se(queries)[0].tolist(),
                    "se": r.mean_se(queries)[1].tolist(),
                    "wall_time_per_run": float(np.mean(r.wall_time)),
                }
                for r in results
            },
        }
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    if args.plot:
        try:
            from sknas.benchmarks._plot import plot_regret

            plot_regret(results, args.plot, title=title)
            print(f"plot written to {args.plot}")
        except ImportError:
            print(
                "matplotlib is not installed, so no plot was written "
                "(pip install matplotlib, or the 'bench' extra)."
            )
    return 0
