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
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_dataset  # noqa: E402
from tabular import _mlp_pipeline  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="splits (seeds 0, 1, ...)")
    parser.add_argument("--refit-seeds", type=int, default=2)
    parser.add_argument("--ensemble-size", type=int, default=5)
    parser.add_argument("--params", default="{}", help="more NASClassifier parameters (JSON)")
    args = parser.parse_args(argv)

    from sknas import NASClassifier

    warnings.filterwarnings("ignore")
    params = dict(
        n_trials=15, max_epochs=40, ensemble_size=args.ensemble_size,
        refit_seeds=args.refit_seeds,
    )
    params.update(json.loads(args.params))
    print(f"NASClassifier({', '.join(f'{k}={v!r}' for k, v in params.items())})")
    nas_scores, mlp_scores = [], []
    for seed in range(args.seeds):
        data = load_dataset("digits", random_state=seed)  # the example's stratified split
        start = time.perf_counter()
        nas = NASClassifier(random_state=seed, **params).fit(data.X_train, data.y_train)
        elapsed = time.perf_counter() - start
        mlp = _mlp_pipeline("classification", seed).fit(data.X_train, data.y_train)
        nas_scores.append(nas.score(data.X_test, data.y_test))
        mlp_scores.append(mlp.score(data.X_test, data.y_test))
        print(f"seed {seed}: sknas {nas_scores[-1]:.4f}  MLPClassifier {mlp_scores[-1]:.4f}  "
              f"({elapsed:.1f} s)", flush=True)
    diffs = [a - b for a, b in zip(nas_scores, mlp_scores)]
    wins = sum(d > 0 for d in diffs), sum(d == 0 for d in diffs), sum(d < 0 for d in diffs)
    print(f"mean: sknas {statistics.mean(nas_scores):.4f}  MLPClassifier "
          f"{statistics.mean(mlp_scores):.4f}  difference {statistics.mean(diffs):+.4f}  "
          f"wins/ties/losses {wins[0]}/{wins[1]}/{wins[2]}")


if __name__ == "__main__":
    main()
