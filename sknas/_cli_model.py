"""``sknas fit``, ``sknas predict`` and ``sknas info``: a search from the command line.

Usage::

    sknas fit train.csv --target label --n-trials 20 --out model.sknas
    sknas predict model.sknas new.csv --out predictions.csv
    sknas info model.sknas
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sknas._cli_data import (
    CommandError,
    check_task,
    infer_task,
    read_table,
    split_target,
    write_table,
)

__all__ = ["add_model_commands", "run_fit", "run_predict", "run_info"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_model_commands(commands: Any) -> None:
    """Add the ``fit``, ``predict`` and ``info`` subcommands to ``sknas``'s parser."""
    fit = commands.add_parser(
        "fit", help="search a network for a table and save the model",
        description=(
            "Search a neural network for a CSV or Parquet table and save it as a model "
            "file. Without --task, a target that is not numeric, or that holds at most "
            "20 distinct integers, is a classification; any other target a regression."
        ),
    )
    fit.add_argument("data", help="training data: .csv (optionally compressed) or .parquet")
    fit.add_argument("--target", required=True, help="name of the column to predict")
    fit.add_argument("--task", choices=("classification", "regression"), default=None,
                     help="inferred from the target when omitted")
    fit.add_argument("--n-trials", type=_positive_int, default=20, help="candidates (20)")
    fit.add_argument("--timeout", type=float, default=None,
                     help="time limit of the whole fit, search and refit (s)")
    fit.add_argument("--max-epochs", type=_positive_int, default=50,
                     help="training epochs per candidate (50)")
    fit.add_argument("--out", default="model.sknas", help="model file (model.sknas)")
    fit.add_argument("--random-state", type=int, default=None, help="seed")
    fit.add_argument("--verbose", type=int, default=0, help="progress output (0, 1, 2)")

    predict = commands.add_parser(
        "predict", help="predict a table with a saved model",
        description="Predict every row of a CSV or Parquet table with a model file.",
    )
    predict.add_argument("model", help="model file written by 'sknas fit' or save()")
    predict.add_argument("data", help="data with the model's feature columns")
    predict.add_argument("--out", default=None,
                         help="write the predictions here (.csv or .parquet); stdout if omitted")
    predict.add_argument("--proba", action="store_true",
                         help="add one probability column per class (classifiers)")

    info = commands.add_parser("info", help="describe a saved model: what was found, how well")
    info.add_argument("model", help="model file written by 'sknas fit' or save()")
    info.add_argument("--top", type=_positive_int, default=5,
                      help="candidates of the leaderboard to show (5)")


def _load(path: str) -> Any:
    import sknas

    if not Path(path).is_file():
        raise CommandError(f"no model file at {path!r}")
    try:
        return sknas.load(path)
    except (sknas.ModelFileError, OSError) as exc:
        raise CommandError(f"cannot load the model {path!r}: {exc}") from None


def run_fit(args: argparse.Namespace) -> int:
    """``sknas fit``: read, search, save, summarise."""
    frame = read_table(args.data)
    X, y = split_target(frame, args.target)
    task = args.task or infer_task(y)
    check_task(task, y, args.target)
    if args.timeout is not None and args.timeout <= 0:
        raise CommandError(f"--timeout must be > 0, got {args.timeout}")
    from sknas import NASClassifier, NASRegressor

    estimator_class = NASClassifier if task == "classification" else NASRegressor
    estimator = estimator_class(
        n_trials=args.n_trials, timeout=args.timeout, max_epochs=args.max_epochs,
        missing_values="impute", random_state=args.random_state, verbose=args.verbose,
    )
    estimator.fit(X, y)
    path = estimator.save(args.out)
    print(f"{task} of {args.target!r} from {X.shape[1]} columns and {X.shape[0]} rows")
    print(_summary(estimator))
    print(f"model written to {path}")
    return 0


def _summary(estimator: Any) -> str:
    results = estimator.cv_results_
    best = estimator.best_index_
    n_complete = int(sum(state == "COMPLETE" for state in results["state"]))
    scoring = estimator.scoring or ("accuracy" if hasattr(estimator, "classes_") else "r2")
    return "\n".join([
        f"searched {estimator.n_trials_} candidates ({n_complete} complete) in the "
        f"{type(estimator.search_space_).__name__}",
        f"best architecture: {estimator.best_architecture_}",
        f"  validation {scoring}: {estimator.best_score_:.4f}",
        f"  parameters: {int(results['n_parameters'][best]):,}",
    ])


def run_predict(args: argparse.Namespace) -> int:
    """``sknas predict``: one prediction per row, as CSV or Parquet."""
    estimator = _load(args.model)
    frame = read_table(args.data)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        missing = [str(name) for name in names if name not in frame.columns]
        if missing:
            raise CommandError(
                f"the data lacks the model's feature column(s) {missing[:10]}"
            )
        X = frame[list(names)]
    elif frame.shape[1] != estimator.n_features_in_:
        raise CommandError(
            f"the model expects {estimator.n_features_in_} columns, the data has "
            f"{frame.shape[1]}"
        )
    else:
        X = frame.to_numpy()
    import pandas as pd

    out = pd.DataFrame({"prediction": estimator.predict(X)})
    if args.proba:
        if not hasattr(estimator, "predict_proba"):
            raise CommandError("--proba needs a classifier; this model is a regressor")
        proba = estimator.predict_proba(X)
        for k, label in enumerate(estimator.classes_):
            out[f"proba_{label}"] = proba[:, k]
    if args.out is None:
        out.to_csv(sys.stdout, index=False)
    else:
        write_table(out, args.out)
        print(f"{len(out)} predictions written to {args.out}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    """``sknas info``: the task, the architecture found, its score, the leaderboard."""
    estimator = _load(args.model)
    kind = type(estimator).__name__
    names = getattr(estimator, "feature_names_in_", None)
    lines = [f"{args.model}: {kind}, {estimator.n_features_in_} features"
             + (f" ({', '.join(map(str, names[:8]))}{', ...' if len(names) > 8 else ''})"
                if names is not None else "")]
    if hasattr(estimator, "classes_"):
        lines.append(f"classes: {', '.join(map(str, estimator.classes_))}")
    lines.append(_summary(estimator))
    if hasattr(estimator, "ensemble_"):
        indices = estimator.ensemble_.indices
        lines.append(f"ensemble of {len(set(indices))} candidates ({len(indices)} networks), "
                     f"validation score {estimator.ensemble_.score:.4f}")
    print("\n".join(lines))
    print()
    board = estimator.leaderboard().head(args.top)
    columns = ["rank", "score", "n_parameters", "fit_time", "epochs", "state", "architecture"]
    print(board[columns].to_string(float_format=lambda v: f"{v:.4g}"))
    return 0
