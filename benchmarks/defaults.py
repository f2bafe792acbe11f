"""Select strategy defaults on some benchmarks, confirm them on others (issue: robust defaults).

The default strategy of a space of cells (``strategy="auto"``) is chosen on the
*selection set* and then checked, unchanged, on the *confirmation set*, benchmarks
built to change the problem's structure so that a default fitted to one table
loses its lead there:

selection set
    ``cifar10``: NAS-Bench-201 CIFAR-10, search ``cifar10_valid_acc_12ep``, report
    the incumbent's ``cifar10_test_acc_200ep`` (mean over seeds of training);
    ``perm2``: the same table with the operation labels permuted on every edge
    (seed 2), the table that showed the equal-worth assumption failing.
confirmation set
    ``one_seed``: the same search, reporting the 200-epoch test accuracy of one
    training seed (``nb201_cifar10_one_seed.csv.gz``, the second noise draw);
    ``test12``: search the 12-epoch *test* accuracy (another real noisy signal),
    report the one-seed 200-epoch accuracy;
    ``perm1``, ``perm3``: the table as a :class:`~sknas.benchmarks.TableBenchmark`
    with the operation labels permuted on every edge (an operation's name no
    longer means the same thing on every edge);
    ``noisy``: the searched metric plus Gaussian noise of standard deviation
    :data:`NOISE_SD` points (a noisier draw, as on data sets where 12 epochs
    say less; fixed seed);
    ``monotone``: the searched metric replaced by ``-log(100 - valid)``, a
    monotone nonlinear transform (same ranking, the top stretched: a model
    of the values must not depend on their scale);
    ``no_conv3x3``, ``no_none``: the table restricted to the 4,096 cells without
    ``nor_conv_3x3`` / without ``none`` (sub-spaces with other optima);
    ``hpo_svc``: a table from another source, an SVC hyperparameter grid measured
    on digits (``benchmarks/data/hpo_svc_digits.csv``, made by ``make_hpo_table.py``).

Every strategy runs on the same seeds; the paired difference per seed of the
incumbent's reported metric to stock TPE (``optuna.samplers.TPESampler(seed=s)``)
and to random search is shown as mean ± standard error at 50 and 100 queries.
Results are cached in a JSON file, so runs can be added piece by piece.

Usage::

    nice python benchmarks/defaults.py --benchmarks cifar10 --seeds 40 \\
        --strategies auto tpe_stock random ls_counts ls_auto
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from sknas.benchmarks import NB201Benchmark, TableBenchmark, run_benchmark
from sknas.samplers import make_sampler

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data/nb201"
HPO_CSV = Path(__file__).resolve().parent / "data" / "hpo_svc_digits.csv"
OPS = ["op_0_1", "op_0_2", "op_1_2", "op_0_3", "op_1_3", "op_2_3"]
SELECTION = ("cifar10", "perm2")
CONFIRMATION = ("one_seed", "test12", "perm1", "perm3", "noisy", "monotone", "no_conv3x3",
                "no_none", "hpo_svc")
QUERIES = (50, 100)
#: Standard deviation (points) of the noise added to the searched metric in ``noisy``.
NOISE_SD = 0.5


def _nb201_frame() -> Any:
    import pandas as pd

    frame = pd.read_csv(SHARED / "nb201_cifar10.csv").sort_values("arch_index")
    seed = pd.read_csv(SHARED / "nb201_cifar10_one_seed.csv.gz").sort_values("arch_index")
    frame["test_1seed"] = seed["cifar10_test_acc_200ep_1seed"].to_numpy()
    return frame.reset_index(drop=True)


def _table(frame: Any, search: str, report: str) -> TableBenchmark:
    return TableBenchmark(frame[[*OPS, search, report]], space_columns=OPS,
                          search_metric=search, report_metric=report)


def build_benchmark(name: str) -> Any:
    """The benchmark called ``name`` (see the module docstring)."""
    if name == "hpo_svc":
        return TableBenchmark.from_csv(
            HPO_CSV, space_columns=["scaler", "pca", "C", "gamma"],
            search_metric="valid_acc", report_metric="test_acc",
        )
    frame = _nb201_frame()
    if name in ("cifar10", "one_seed", "test12"):
        search = {"test12": "cifar10_test_acc_12ep"}.get(name, "cifar10_valid_acc_12ep")
        report = "cifar10_test_acc_200ep" if name == "cifar10" else "test_1seed"
        columns = {"valid": frame[search].to_numpy(), "test": frame[report].to_numpy(),
                   "flops": frame["cifar10_flops_m"].to_numpy()}
        return NB201Benchmark(frame["arch_str"].tolist(), columns, source=name)
    if name.startswith("perm"):
        rng = np.random.default_rng(int(name[4:]))
        frame = frame.copy()
        for column in OPS:
            labels = sorted(frame[column].unique())
            mapping = dict(zip(labels, [labels[k] for k in rng.permutation(len(labels))]))
            frame[column] = frame[column].map(mapping)
        return _table(frame, "cifar10_valid_acc_12ep", "cifar10_test_acc_200ep")
    if name in ("noisy", "monotone"):
        frame = frame.copy()
        valid = frame["cifar10_valid_acc_12ep"].to_numpy()
        if name == "noisy":  # a noisier draw of the searched metric (fixed seed)
            valid = valid + np.random.default_rng(201).normal(0.0, NOISE_SD, len(valid))
        else:  # a monotone nonlinear transform: same ranking, stretched top
            valid = -np.log(100.0 - valid)
        frame["searched"] = valid
        return _table(frame, "searched", "cifar10_test_acc_200ep")
    if name in ("no_conv3x3", "no_none"):
        op = "nor_conv_3x3" if name == "no_conv3x3" else "none"
        keep = ~frame[OPS].eq(op).any(axis=1)
        return _table(frame[keep].reset_index(drop=True), "cifar10_valid_acc_12ep",
                      "cifar10_test_acc_200ep")
    raise ValueError(f"unknown benchmark {name!r}")


def _local_search(**options: Any) -> Callable[[int, Any], optuna.samplers.BaseSampler]:
    def factory(seed: int, space: Any) -> optuna.samplers.BaseSampler:
        from sknas.samplers import LocalSearchSampler

        return LocalSearchSampler(seed=seed, search_space=space, **options)

    return factory


def _named(name: str) -> Callable[[int, Any], optuna.samplers.BaseSampler]:
    def factory(seed: int, space: Any) -> optuna.samplers.BaseSampler:
        return make_sampler(name, seed=seed, search_space=space)

    return factory


def _stock_tpe(seed: int, space: Any) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed)


#: Strategy name -> factory(seed, search_space). ``auto`` is the shipped default.
STRATEGIES: dict[str, Callable[[int, Any], optuna.samplers.BaseSampler]] = {
    "auto": _named("auto"),
    "tpe_stock": _stock_tpe,
    **{name: _named(name) for name in
       ("random", "tpe", "evolution", "reinforce", "bananas", "gp", "local_search")},
    # Candidates for the default: local search with other models of the neighbours.
    "ls_counts": _local_search(model_features="counts"),
    "ls_onehot": _local_search(model_features="onehot"),
    "ls_pooled": _local_search(model_features="pooled", ridge_alpha=50.0),
    "ls_auto": _local_search(model_features="auto"),
    "ls_random": _local_search(neighbour_order="random"),
    "ls_hybrid": _local_search(model_features="auto", restart_points="model"),
    "ls_hybrid_counts": _local_search(restart_points="model"),
    "ls_r3": _local_search(n_startup_trials=6, n_restart_trials=3),
    "ls_hybrid_r3": _local_search(model_features="auto", restart_points="model",
                                  n_startup_trials=6, n_restart_trials=3),
    # Climbing from the episode's runners-up, and restarts driven by stagnation.
    "ls_top3": _local_search(n_climb_points=3),
    "ls_p8": _local_search(patience=8),
    "ls_top3_p8": _local_search(n_climb_points=3, patience=8),
    "ls_top3_r3": _local_search(n_climb_points=3, n_startup_trials=6, n_restart_trials=3),
    "ls_top3_hybrid": _local_search(n_climb_points=3, restart_points="model"),
    # The model fitted to ranks: the search invariant to monotone transforms.
    "ls_ranks": _local_search(score_scale="ranks"),
    # Iterated local search: restarts near the incumbent, chosen by the model.
    "ls_ils": _local_search(restart_points="perturb"),
    "ls_ils_p8": _local_search(restart_points="perturb", patience=8),
}


def run(bench_name: str, strategy: str, seeds: int, n_jobs: int, cache: dict,
        what: str = "test") -> np.ndarray | None:
    """Incumbent's reported (``what="test"``) or searched (``"valid"``) metric at
    :data:`QUERIES`, shape (seeds, len(QUERIES)); runs the strategy when the cache
    lacks it (None for a cached run without the searched metric)."""
    key = f"{bench_name}/{strategy}"
    stored = cache.get(key if what == "test" else f"{key}/valid")
    if stored is not None and len(stored) >= seeds:
        return np.asarray(stored[:seeds])
    if what == "valid" and key in cache:
        return None
    bench = build_benchmark(bench_name)
    result = run_benchmark(bench, STRATEGIES[strategy], n_trials=max(QUERIES),
                           seeds=seeds, n_jobs=n_jobs)
    columns = [q - 1 for q in QUERIES]
    cache[key] = result.incumbent_test[:, columns].tolist()
    cache[f"{key}/valid"] = result.incumbent_valid[:, columns].tolist()
    return np.asarray(cache[key if what == "test" else f"{key}/valid"])


def report(bench_name: str, table: dict[str, np.ndarray]) -> str:
    """A markdown table: mean ± SE, and paired differences to stock TPE and random."""
    lines = [f"#### {bench_name}", "",
             "| strategy | seeds | @50 | @100 | vs TPE @50 | vs TPE @100 "
             "| vs random @50 | vs random @100 |",
             "|---|---|---|---|---|---|---|---|"]
    for name, values in table.items():
        n = len(values)
        cells = []
        for k in range(len(QUERIES)):
            se = values[:, k].std(ddof=1) / np.sqrt(n)
            cells.append(f"{values[:, k].mean():.2f} ± {se:.2f}")
        for base in ("tpe_stock", "random"):
            for k in range(len(QUERIES)):
                other = table.get(base)
                if other is None or name == base:
                    cells.append("")
                    continue
                m = min(len(other), n)
                diff = values[:m, k] - other[:m, k]
                se = diff.std(ddof=1) / np.sqrt(m)
                mark = "**" if abs(diff.mean()) > 2 * se else ""
                cells.append(f"{mark}{diff.mean():+.2f} ± {se:.2f}{mark}")
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmarks", nargs="+", default=[*SELECTION, *CONFIRMATION])
    parser.add_argument("--strategies", nargs="+",
                        default=["auto", "tpe_stock", "random", "evolution", "reinforce"])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("defaults_cache.json"))
    args = parser.parse_args()
    unknown = [s for s in args.strategies if s not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies {unknown}; known: {sorted(STRATEGIES)}")
    cache = json.loads(args.cache.read_text()) if args.cache.is_file() else {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for bench_name in args.benchmarks:
        role = "selection" if bench_name in SELECTION else "confirmation"
        table: dict[str, Any] = {}
        for strategy in args.strategies:
            start = time.perf_counter()
            table[strategy] = run(bench_name, strategy, args.seeds, args.n_jobs, cache)
            args.cache.write_text(json.dumps(cache))
            print(f"  {bench_name}/{strategy}: {time.perf_counter() - start:.0f} s", flush=True)
        print(f"\n({role} set, reported metric)\n" + report(bench_name, table) + "\n",
              flush=True)
        searched = {name: run(bench_name, name, args.seeds, args.n_jobs, cache, "valid")
                    for name in args.strategies}
        if all(v is not None for v in searched.values()):
            print("(searched metric)\n" + report(bench_name, searched) + "\n", flush=True)


if __name__ == "__main__":
    main()
