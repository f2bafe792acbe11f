"""One-shot strategies on digits, with the derived cells looked up in NAS-Bench-201.

No CIFAR-10 images are available offline, so each method searches the
NAS-Bench-201 cell space on scikit-learn's digits (8x8 grey images, 10
classes) with a small supernet (``--channels``, ``--cells-per-stage``), for
``--epochs`` supernet epochs, with each of ``--seeds`` seeds. For every run
it reports:

- search time (supernet training and derivation, seconds);
- the derived cell (``arch_str``) and whether it is parameter-free (only
  ``none``, ``skip_connect`` and pooling: the DARTS collapse);
- its accuracy retrained from scratch on the digits training rows (the same
  evaluator as the estimators', ``--max-epochs``), on held-out test digits;
- its NAS-Bench-201 CIFAR-10 200-epoch test accuracy and that accuracy's
  percentile among the 15,625 cells: how the choice transfers, never a
  CIFAR result of the method (the search never reads the table);
- Kendall's tau between the supernet's shared-weight accuracy of
  ``--tau-cells`` random cells and their table accuracy;
- the wall-time ratio: the time a black-box random search (same space,
  same evaluator, same split) needs until its best validation accuracy
  reaches the one-shot cell's, divided by the one-shot time (search +
  retraining); ``>`` when the black box never reached it in ``--bb-trials``.

Usage (the numbers in docs/benchmarks.md; one torch thread, as a thread
pool on a shared 2-core machine spends its time waiting)::

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/oneshot_nb201.py \
        --methods drnas gdas darts --seeds 0 1 2 --epochs 30 --channels 8 \
        --cells-per-stage 2 --max-epochs 15 --tau-cells 30 --bb-trials 6 --write-docs
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from sknas.benchmarks import NB201Benchmark
from sknas.oneshot import ONESHOT_STRATEGIES, SearchData
from sknas.spaces import NB201Space

try:  # run as a script (benchmarks/ on sys.path) or as benchmarks.oneshot_nb201
    from _common import command_line, machine_description, markdown_table, write_section
except ImportError:  # pragma: no cover
    from benchmarks._common import (
        command_line,
        machine_description,
        markdown_table,
        write_section,
    )

DEFAULT_CSV = Path(__file__).resolve().parents[1].parent / "shared/data/nb201/nb201_cifar10.csv"
TITLE = "One-shot strategies on NAS-Bench-201 cells (searched on digits)"
PARAM_FREE = {"none", "skip_connect", "avg_pool_3x3"}


def load_data(seed: int, max_rows: int | None = None) -> tuple[np.ndarray, ...]:
    """Digits as flat float32 rows; a stratified test quarter; train/valid split of the rest.

    ``max_rows`` keeps a stratified subset of the search rows (the test quarter is kept whole).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_fit, X_test, y_fit, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    if max_rows is not None and max_rows < len(X_fit):
        X_fit, _, y_fit, _ = train_test_split(
            X_fit, y_fit, train_size=max_rows, stratify=y_fit, random_state=0
        )
    train, valid = train_test_split(
        np.arange(len(X_fit)), test_size=0.2, stratify=y_fit, random_state=seed
    )
    return X_fit, y_fit.astype(np.int64), X_test, y_test, train, valid


def shared_accuracy(net: Any, indices: list[int], X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the supernet with its cell fixed to ``indices`` (shared weights)."""
    import torch

    net.set_fixed(indices)
    net.eval()
    with torch.no_grad():
        out = net(torch.as_tensor(X))
    net.clear_fixed()
    return float((out.argmax(1).numpy() == y).mean())


def make_evaluator(space: NB201Space, splits: list, max_epochs: int) -> Any:
    from sklearn.metrics import check_scoring
    from sklearn.neighbors import KNeighborsClassifier

    from sknas.evaluation.training import TrainingEvaluator

    scorer = check_scoring(KNeighborsClassifier(), scoring="accuracy")
    return TrainingEvaluator(
        space, task="classification", n_outputs=10, scorer=scorer, splits=splits,
        max_epochs=max_epochs, patience=max_epochs, device="cpu", n_threads=None,
    )


def run_method(name: str, seed: int, args: argparse.Namespace, bench: NB201Benchmark,
               space: NB201Space) -> dict[str, Any]:
    """One search with one seed: the row of the results table."""
    from scipy.stats import kendalltau

    X, y, X_test, y_test, train, valid = load_data(seed, args.max_rows)
    data = SearchData(X[train], y[train], X[valid], y[valid], n_outputs=10, seed=seed)
    options = {"rsws": {"n_samples": args.tau_cells}, "enas": {"n_samples": args.tau_cells}}
    strategy = ONESHOT_STRATEGIES[name](epochs=args.epochs, options=options.get(name))
    result = strategy.search(space, data)
    arch = space.decode(result.candidates[0])
    ops = space.ops(arch)
    rng = np.random.default_rng(1000 + seed)
    cells = [space.sample(rng) for _ in range(args.tau_cells)]
    shared = [shared_accuracy(result.supernet, result.supernet.indices_of(c.params),
                              X[valid], y[valid]) for c in cells]
    table = [bench.query(c, "test") for c in cells]
    evaluator = make_evaluator(space, [(train, valid)], args.max_epochs)
    evaluated = evaluator.evaluate(arch, X, y, None, seed=seed)
    net = evaluator.fit_final(arch, X, y, n_epochs=int(np.median(evaluated.best_epochs)),
                              seed=seed)
    test_acc = float((np.asarray(net.predict(X_test)) == y_test).mean())
    table_acc = bench.query(arch, "test")
    return {
        "method": name, "seed": seed, "search_time": result.search_time,
        "retrain_time": evaluated.fit_time, "valid_score": evaluated.score,
        "arch_str": arch.key(), "param_free": all(op in PARAM_FREE for op in ops),
        "test_acc": test_acc, "table_acc": table_acc,
        "table_pct": float((bench.values("test") < table_acc).mean() * 100),
        "tau": float(kendalltau(shared, table).statistic), "stopped": result.stopped,
    }


def black_box(seed: int, args: argparse.Namespace, space: NB201Space) -> list[tuple[float, float]]:
    """Random search with the same evaluator: (cumulative seconds, incumbent valid score)."""
    X, y, _, _, train, valid = load_data(seed, args.max_rows)
    evaluator = make_evaluator(space, [(train, valid)], args.max_epochs)
    rng = np.random.default_rng(2000 + seed)
    curve, elapsed, best = [], 0.0, -np.inf
    for _ in range(args.bb_trials):
        result = evaluator.evaluate(space.sample(rng), X, y, None, seed=seed)
        elapsed += result.fit_time
        best = max(best, result.score)
        curve.append((elapsed, best))
        print(f"black box seed {seed}: {elapsed:.0f} s, best valid {best:.3f}", flush=True)
    return curve


def time_ratio(row: dict[str, Any], curve: list[tuple[float, float]]) -> str:
    oneshot = row["search_time"] + row["retrain_time"]
    for seconds, best in curve:
        if best >= row["valid_score"]:
            return f"{seconds / oneshot:.2f}"
    return f"> {curve[-1][0] / oneshot:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--methods", nargs="+", default=sorted(ONESHOT_STRATEGIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells-per-stage", type=int, default=1)
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--tau-cells", type=int, default=30)
    parser.add_argument("--bb-trials", type=int, default=10)
    parser.add_argument("--max-rows", type=int, default=None,
                        help="search rows kept (stratified); default: all 1,347")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    bench = NB201Benchmark.from_csv(args.csv)
    space = NB201Space(channels=args.channels, cells_per_stage=args.cells_per_stage,
                       image_shape=(1, 8, 8))
    curves = {seed: black_box(seed, args, space) for seed in args.seeds}
    rows = []
    for name in args.methods:
        for seed in args.seeds:
            start = time.perf_counter()
            row = run_method(name, seed, args, bench, space)
            row["ratio"] = time_ratio(row, curves[seed])
            rows.append(row)
            print(f"{name} seed {seed}: {row} ({time.perf_counter() - start:.0f} s)", flush=True)
    table = markdown_table(
        ["method", "seed", "search s", "derived cell", "param-free", "digits test acc",
         "NB201 C10 test", "NB201 pct", "tau", "bb time ratio"],
        [[r["method"], str(r["seed"]), f"{r['search_time']:.1f}", r["arch_str"].replace("|", "\\|"),
          "yes" if r["param_free"] else "no", f"{r['test_acc']:.3f}", f"{r['table_acc']:.2f}",
          f"{r['table_pct']:.0f}", f"{r['tau']:.2f}", r["ratio"]] for r in rows],
    )
    summary = markdown_table(
        ["method", "mean NB201 C10 test", "mean pct", "param-free runs", "mean tau"],
        [[name, f"{np.mean([r['table_acc'] for r in rows if r['method'] == name]):.2f}",
          f"{np.mean([r['table_pct'] for r in rows if r['method'] == name]):.0f}",
          str(sum(r["param_free"] for r in rows if r["method"] == name)),
          f"{np.nanmean([r['tau'] for r in rows if r['method'] == name]):.2f}"]
         for name in args.methods],
    )
    text = f"{summary}\n\n{table}\n\nMachine: {machine_description()}. Command: `{command_line()}`."
    print(text)
    if args.write_docs:
        write_section(TITLE, text)


if __name__ == "__main__":
    main()
