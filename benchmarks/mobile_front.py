"""Accuracy vs CPU latency on the mobile space: a searched front against the known networks.

A score-only search (``--strategy``, ``--n-trials`` candidates of the default
``MobileSpace``, starting from its first candidate) trains every candidate
with the library's training evaluator on one fixed train/validation split of
the training images and records its measured latency (batch 1, one thread;
see benchmarks/_mobile.py). The non-dominated candidates of (validation
accuracy up, latency down) form the front. The four known networks
(``MobileSpace.network``, at each ``--widths`` multiplier, laid out for the
same images) are trained and measured the same way. Every front member and
every known network is then refitted on all training images for its best
epoch count and scored on the held-out test images (``--no-test`` skips this).

A known network is dominated when a front member has both a higher validation
accuracy and a lower latency.

``--search multiobjective`` runs the estimators' multi-objective search
instead: ``NASClassifier(search_space=MobileSpace(...), objectives=("score",
"latency"))`` (``--strategy``, default ``motpe``) on the same split
(``cv=[(train, valid)]``). The front is the estimator's ``pareto_front_``:
the validation accuracy and the ``cost_latency`` of those rows of
``cv_results_``, measured by the estimator with
``sknas.latency.measure_latency`` (wall clock, batch 1, one thread) on the
network as it is deployed (inside the input scaling, float64). The known
networks are trained by the estimator's own evaluator and timed by the same
function on the same deployed module, and the front members are timed again
next to them (the "re-measured" column), so that both sides of the comparison
see the same machine load.

``--search oneshot`` trains the supernet of ``MobileSpace(granularity="block",
depth="skip")`` (FBNet's and ProxylessNAS' layout) with ``--strategy``
(default ``proxyless``) once per ``--cost-weights`` value (the weight of the
latency lookup table's expected latency in the architecture loss), for
``--supernet-epochs`` epochs on the split's training rows (architecture steps
on its validation rows); each derived network is then trained and timed like
the score search's candidates, and they form the front.

Usage::

    nice -n 10 python benchmarks/mobile_front.py --data digits --n-trials 30 \\
        --max-epochs 30 --plot docs/spaces/mobile_front_digits.png --write-docs
    nice -n 10 python benchmarks/mobile_front.py --search multiobjective \\
        --data digits --n-trials 30 --max-epochs 30 --write-docs
    nice -n 10 python benchmarks/mobile_front.py --search oneshot --data digits \\
        --cost-weights 0 0.3 1 3 --supernet-epochs 10 --write-docs
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import optuna
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split

from sknas.evaluation.training import TrainingEvaluator
from sknas.samplers import make_sampler
from sknas.spaces import MobileSpace

try:  # run as a script (benchmarks/ on sys.path) or as benchmarks.mobile_front
    from _common import command_line, machine_description, markdown_table, write_section
    from _mobile import MOBILE_DOCS, latency_function, load_images
except ImportError:  # pragma: no cover
    from benchmarks._common import (
        command_line,
        machine_description,
        markdown_table,
        write_section,
    )
    from benchmarks._mobile import MOBILE_DOCS, latency_function, load_images

KNOWN = ("mobilenet_v2", "mnasnet_1_0", "mobilenet_v3_small", "mobilenet_v3_large")


def pareto_front(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points no other point beats on accuracy (>=) and latency (<=) with one strict."""
    front = []
    for p in points:
        if not any(
            q["valid_acc"] >= p["valid_acc"] and q["latency_ms"] <= p["latency_ms"]
            and (q["valid_acc"] > p["valid_acc"] or q["latency_ms"] < p["latency_ms"])
            for q in points
        ):
            front.append(p)
    return sorted(front, key=lambda p: p["latency_ms"])


def _record(kind: str, arch: Any, valid_acc: float, latency: float, n_parameters: int,
            epochs: int, seed: int) -> dict[str, Any]:
    record = {
        "kind": kind, "arch": arch.key(), "params": arch.params, "valid_acc": valid_acc,
        "latency_ms": latency, "n_parameters": n_parameters, "epochs": epochs, "seed": seed,
    }
    print(f"{kind:8s} acc {valid_acc:.4f}  {latency:7.3f} ms  "
          f"{n_parameters:9d} params  {arch.key()[:60]}", flush=True)
    return record


def _trainer(args: argparse.Namespace, space: MobileSpace, X_train: np.ndarray,
             y_train: np.ndarray, splits: list) -> tuple:
    """``(evaluate, evaluator, clock)``: train a network on the split, time it, record it."""
    measure, clock = latency_function(args.clock)
    n_features = X_train.shape[1]
    evaluator = TrainingEvaluator(
        space, task="classification", n_outputs=10, scorer=get_scorer("accuracy"),
        splits=splits, max_epochs=args.max_epochs, patience=args.patience,
        n_threads=1,
    )

    def evaluate(arch: Any, seed: int, kind: str) -> dict[str, Any]:
        result = evaluator.evaluate(arch, X_train, y_train, seed=seed)
        module = space.build_module(arch, n_features, 10)
        latency = measure(module, (n_features,), repeats=args.repeats, warmup=5, n_threads=1)
        return _record(kind, arch, result.score, latency, result.n_parameters,
                       result.best_epochs[0], seed)

    return evaluate, evaluator, clock


def score_search(args: argparse.Namespace, X_train: np.ndarray, y_train: np.ndarray,
                 shape: tuple, splits: list) -> tuple:
    """Score-only search; the front is the non-dominated candidates (accuracy, latency)."""
    space = MobileSpace(image_shape=shape)
    evaluate, evaluator, clock = _trainer(args, space, X_train, y_train, splits)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=make_sampler(args.strategy, seed=args.seed, search_space=space),
    )
    study.enqueue_trial(space.initial_params()[0])
    dists = space.distributions()
    searched: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        params = {name: trial.suggest_categorical(name, d.choices) for name, d in dists.items()}
        record = evaluate(space.decode(params), args.seed + trial.number, "searched")
        searched.append(record)
        return float(record["valid_acc"])

    study.optimize(objective, n_trials=args.n_trials)
    known = [
        evaluate(space.network(name, width), args.seed, "known")
        for name in KNOWN for width in args.widths
    ]
    return searched, pareto_front(searched), known, evaluator, clock


def oneshot_search(args: argparse.Namespace, X_train: np.ndarray, y_train: np.ndarray,
                   shape: tuple, splits: list) -> tuple:
    """One supernet search per cost weight; the front is the non-dominated derived networks."""
    from sknas.oneshot import ONESHOT_STRATEGIES
    from sknas.oneshot.base import SearchData

    space = MobileSpace(image_shape=shape, granularity="block", depth="skip")
    evaluate, evaluator, clock = _trainer(args, space, X_train, y_train, splits)
    train, valid = splits[0]
    X = np.asarray(X_train, dtype=np.float32)
    searched: list[dict[str, Any]] = []
    for i, weight in enumerate(args.cost_weights):
        strategy = ONESHOT_STRATEGIES[args.strategy](
            epochs=args.supernet_epochs, options={"cost_weight": weight}
        )
        data = SearchData(X[train], y_train[train], X[valid], y_train[valid], n_outputs=10,
                          seed=args.seed + i, n_threads=1)
        result = strategy.search(space, data)
        record = evaluate(space.decode(result.candidates[0]), args.seed, "searched")
        record.update(cost_weight=weight, search_s=result.search_time)
        print(f"  cost_weight {weight:g}: supernet {result.search_time:.1f} s", flush=True)
        searched.append(record)
    known = [
        evaluate(space.network(name, width), args.seed, "known")
        for name in KNOWN for width in args.widths
    ]
    return searched, pareto_front(searched), known, evaluator, clock


def multiobjective_search(args: argparse.Namespace, X_train: np.ndarray, y_train: np.ndarray,
                          shape: tuple, splits: list) -> tuple:
    """``NASClassifier(objectives=("score", "latency"))``; the front is its ``pareto_front_``.

    The known networks are trained by the estimator's evaluator and timed by
    :func:`sknas.latency.measure_latency` on the module the estimator times
    (the deployed network: input scaling around it, float64 on the CPU); the
    front members are timed again the same way next to them.
    """
    from sknas import NASClassifier
    from sknas.latency import measure_latency

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n_features = X_train.shape[1]
    clf = NASClassifier(
        search_space=MobileSpace(image_shape=shape), objectives=("score", "latency"),
        strategy=args.strategy, n_trials=args.n_trials, max_epochs=args.max_epochs,
        patience=args.patience, cv=splits, refit=False, random_state=args.seed,
        device="cpu",
    ).fit(X_train, y_train)
    space = clf.search_space_
    # The estimator's own evaluator (private; the benchmark needs its exact training).
    evaluator = clf._make_evaluator(space, 10, splits, "cpu")

    def deployed_latency(arch: Any) -> float:
        module = evaluator.inference_module(arch, n_features).double()
        return measure_latency(module, (n_features,), batch_size=clf.latency_batch_size,
                               repeats=args.repeats, warmup=5, n_threads=1)

    res = clf.cv_results_
    searched = []
    for i in range(len(res["params"])):
        if res["state"][i] != "COMPLETE":
            continue
        arch = space.decode(res["params"][i])
        record = _record("searched", arch, float(res["mean_test_score"][i]),
                         float(res["cost_latency"][i]), int(res["n_parameters"][i]),
                         int(res["n_epochs"][i]), args.seed)
        record["row"] = i
        searched.append(record)
    rows = {int(i) for i in clf.pareto_front_}
    front = sorted((r for r in searched if r["row"] in rows), key=lambda r: r["latency_ms"])
    known = []
    for name in KNOWN:
        for width in args.widths:
            arch = space.network(name, width)
            result = evaluator.evaluate(arch, X_train, y_train, seed=args.seed)
            known.append(_record("known", arch, result.score, deployed_latency(arch),
                                 result.n_parameters, result.best_epochs[0], args.seed))
    for record in front:
        record["latency_again_ms"] = deployed_latency(space.decode(record["params"]))
    for record in known:
        record["latency_again_ms"] = record["latency_ms"]
    clock = ("wall clock by `sknas.latency.measure_latency` on the deployed network "
             "(input scaling around it, float64)")
    return searched, front, known, evaluator, clock


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--search", choices=("score", "multiobjective", "oneshot"),
                        default="score",
                        help="a score-only search (front from its candidates), the "
                        "estimator's objectives=('score', 'latency') search, or one-shot "
                        "supernet searches with a latency term")
    parser.add_argument("--cost-weights", type=float, nargs="+", default=[0.0, 0.3, 1.0, 3.0],
                        help="oneshot: latency-term weights, one supernet search each")
    parser.add_argument("--supernet-epochs", type=int, default=10, help="oneshot: epochs")
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument("--strategy", default=None,
                        help="default: tpe (score), motpe (multiobjective), proxyless "
                        "(oneshot)")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--widths", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--repeats", type=int, default=30, help="timed passes per latency")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="score mode only; multiobjective times the wall clock "
                        "as the estimator does")
    parser.add_argument("--no-test", action="store_true",
                        help="skip the refits on all training images and the test scores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default=None, help="write the figure to this PNG")
    parser.add_argument("--json", default=None)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    multi = args.search == "multiobjective"
    if args.strategy is None:
        args.strategy = {"multiobjective": "motpe", "oneshot": "proxyless"}.get(
            args.search, "tpe")

    import torch

    torch.set_num_threads(1)
    X_train, X_test, y_train, y_test, shape = load_images(args.data, random_state=args.seed)
    train, valid = train_test_split(
        np.arange(len(X_train)), test_size=0.2, stratify=y_train, random_state=args.seed
    )
    search = {"multiobjective": multiobjective_search, "oneshot": oneshot_search}.get(
        args.search, score_search)
    searched, front, known, evaluator, clock = search(
        args, X_train, y_train, shape, [(train, valid)]
    )
    space = evaluator.search_space

    def test_accuracy(record: dict[str, Any]) -> float:
        arch = space.decode(record["params"])
        net = evaluator.fit_final(arch, X_train, y_train, n_epochs=record["epochs"],
                                  seed=record["seed"])
        return float(np.mean(net.predict(X_test) == y_test))

    for record in front + known:
        record["test_acc"] = float("nan") if args.no_test else test_accuracy(record)
    for record in known:
        record["dominated_by"] = [
            p["arch"] for p in front
            if p["valid_acc"] > record["valid_acc"] and p["latency_ms"] < record["latency_ms"]
        ]
    dominated = [r for r in known if r["dominated_by"]]
    result = {"data": args.data, "search": args.search, "shape": shape, "clock": clock,
              "front": front, "known": known, "searched": searched,
              "n_dominated": len(dominated)}
    verdict = (
        f"The searched front dominates {len(dominated)} of the {len(known)} known networks "
        "(a front member with higher validation accuracy and lower latency): "
        + (", ".join(r["arch"] for r in dominated) if dominated else "none")
        + "."
    )
    if multi:  # the same comparison with the front timed again next to the known networks
        again = [
            r for r in known if any(
                p["valid_acc"] > r["valid_acc"] and p["latency_again_ms"] < r["latency_ms"]
                for p in front
            )
        ]
        result["n_dominated_remeasured"] = len(again)
        verdict += (
            f" With the front re-measured next to the known networks: {len(again)} "
            + "(" + (", ".join(r["arch"] for r in again) if again else "none") + ")."
        )
    print(verdict)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1, default=str)
    if args.plot:
        plot(searched, front, known, args.plot, args.data)
    if args.write_docs:
        tested = not args.no_test
        rows = [
            [r["kind"] if r["kind"] == "known" else "front",
             "`" + r["arch"].replace("|", "\\|") + "`",
             f"{r['valid_acc']:.4f}"] + ([f"{r['test_acc']:.4f}"] if tested else [])
            + [f"{r['latency_ms']:.3f}"]
            + ([f"{r['latency_again_ms']:.3f}" if r["kind"] != "known" else ""]
               if multi else [])
            + [f"{r['n_parameters']:,}", "yes" if r.get("dominated_by") else ""]
            for r in sorted(front + known, key=lambda r: r["latency_ms"])
        ]
        searched_by = (
            f"`NASClassifier(objectives=('score', 'latency'), strategy='{args.strategy}')`, "
            f"{args.n_trials} trials (front: `pareto_front_`)" if multi
            else f"{args.n_trials} candidates by `{args.strategy}`"
        )
        if args.search == "oneshot":
            searched_by = (
                f"`{args.strategy}` supernet searches of `MobileSpace(granularity='block', "
                f"depth='skip')`, {args.supernet_epochs} epochs each, latency-term weights "
                + ", ".join(f"{w:g}" for w in args.cost_weights)
                + " (one derived network each, trained like the known networks)"
            )
        body = (
            f"Measured by `{command_line()}` on {machine_description()}: {args.data} "
            f"{shape}, {len(X_train)} training images (a fifth for validation), "
            f"{len(X_test)} test images; {searched_by}, "
            f"at most {args.max_epochs} epochs (patience {args.patience}); latency: {clock}, "
            f"batch 1, one thread, median of {args.repeats} passes.\n\n"
            + markdown_table(
                ["", "network", "valid acc"] + (["test acc"] if tested else [])
                + ["latency ms"] + (["re-measured ms"] if multi else [])
                + ["parameters", "dominated"], rows,
            )
            + f"\n\n{verdict}\n"
        )
        if args.plot:
            body += f"\n![accuracy vs latency]({args.plot.split('docs/spaces/')[-1]})\n"
        title = f"Accuracy-latency front ({args.data})"
        if args.search == "oneshot":
            title = f"One-shot accuracy-latency front ({args.data})"
        if multi:
            title = f"Multi-objective accuracy-latency front ({args.data})"
        write_section(title, body, MOBILE_DOCS)
    return result


def plot(searched: list, front: list, known: list, path: str, data: str) -> None:
    """Scatter of the candidates, the front as a step line, the known networks labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.scatter([r["latency_ms"] for r in searched], [r["valid_acc"] for r in searched],
               s=14, color="0.65", label="searched candidates")
    ax.step([r["latency_ms"] for r in front], [r["valid_acc"] for r in front], where="post",
            color="C0", marker="o", label="searched front")
    for r in known:
        ax.scatter(r["latency_ms"], r["valid_acc"], marker="s", color="C3")
        ax.annotate(r["arch"], (r["latency_ms"], r["valid_acc"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.scatter([], [], marker="s", color="C3", label="known networks")
    ax.set_xscale("log")
    ax.set_xlabel("CPU latency, batch 1, one thread (ms)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(f"MobileSpace on {data}")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
