"""The main job's search on digits against ``MLPClassifier()``, over several splits.

``bash scripts/run.sh main`` (``examples/search_digits.py``) runs one split (seed 0).
This script repeats its settings on ``--seeds`` stratified 75/25 splits of
scikit-learn's digits, so that a change to the estimator is judged on more than
one split of 450 test images (one image is 0.22 point): for each seed it fits
``NASClassifier(n_trials=15, max_epochs=40, ensemble_size=5, refit_seeds=...,
random_state=seed)`` and ``StandardScaler`` + ``MLPClassifier(random_state=seed)``
and prints both test accuracies, then the means, the mean difference and the
wins/ties/losses. Extra estimator parameters are given as JSON.

Example::

    python benchmarks/main_job.py --seeds 5 --refit-seeds 2
    python benchmarks/main_job.py --seeds 5 --params '{"n_trials": 1, "refit_seeds": 5}'
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="splits (seeds 0, 1, ...)")
    parser.add_argument("--refit-seeds", type=int, default=2)
    parser.add_argument("--ensemble-size", type=int, default=5)
    parser.add_argument("--params", default="{}", help="more NASClassifier parameters (JSON)")
    args = parser.parse_args(argv)

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sknas import NASClassifier

    warnings.filterwarnings("ignore")
    X, y = load_digits(return_X_y=True)
    params = dict(
        n_trials=15, max_epochs=40, ensemble_size=args.ensemble_size,
        refit_seeds=args.refit_seeds,
    )
    params.update(json.loads(args.params))
    print(f"NASClassifier({', '.join(f'{k}={v!r}' for k, v in params.items())})")
    nas_scores, mlp_scores = [], []
    for seed in range(args.seeds):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=seed, stratify=y
        )
        start = time.perf_counter()
        nas = NASClassifier(random_state=seed, **params).fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        mlp = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))
        mlp.fit(X_train, y_train)
        nas_scores.append(nas.score(X_test, y_test))
        mlp_scores.append(mlp.score(X_test, y_test))
        print(f"seed {seed}: sknas {nas_scores[-1]:.4f}  MLPClassifier {mlp_scores[-1]:.4f}  "
              f"({elapsed:.1f} s)", flush=True)
    diffs = [a - b for a, b in zip(nas_scores, mlp_scores)]
    wins = sum(d > 0 for d in diffs), sum(d == 0 for d in diffs), sum(d < 0 for d in diffs)
    print(f"mean: sknas {statistics.mean(nas_scores):.4f}  MLPClassifier "
          f"{statistics.mean(mlp_scores):.4f}  difference {statistics.mean(diffs):+.4f}  "
          f"wins/ties/losses {wins[0]}/{wins[1]}/{wins[2]}")


if __name__ == "__main__":
    main()
