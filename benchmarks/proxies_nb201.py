"""Zero-cost proxies on NAS-Bench-201 (CIFAR-10): rank correlation and a proxy pre-screen.

Part 1 samples ``--cells`` cells uniformly (seed ``--seed``) from the table,
builds each cell's real network with ``NB201Space`` (``--channels``,
``--cells-per-stage``; NAS-Bench-201's own 16 and 5 by default), scores it with
every proxy of ``sknas.proxies.PROXIES`` and reports Spearman's rho against
``cifar10_valid_acc_12ep`` and ``cifar10_test_acc_200ep``.

No CIFAR-10 images are available offline. ``synflow`` and ``params`` need no
data; ``naswot``, ``snip`` and ``grad_norm`` get a stand-in batch: 64 images of
scikit-learn's digits (8x8, grey), resized to 32x32 (bilinear), copied into 3
channels and standardised, with their digit labels as the 10 classes.

Part 2 (``--prescreen-seeds`` > 0) runs strategies on the table benchmark
through ``run_benchmark``, each wrapped in ``ProxyPrescreenSampler`` that draws
``--candidates`` proposals per trial and keeps the best by ``synflow`` or by
``params`` (both computed on the built network, cached per cell, and kept in
``--cache`` between runs), next to the strategy alone.

Usage::

    nice -n 10 python benchmarks/proxies_nb201.py --cells 500 --prescreen-seeds 20 \\
        --n-trials 100 --strategies random evolution local_search \\
        --cache proxy_scores.json --write-docs
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sknas.benchmarks import NB201Benchmark, run_benchmark
from sknas.proxies import PROXIES
from sknas.proxies.prescreen import ProxyPrescreenSampler, proxy_score
from sknas.samplers import make_sampler
from sknas.spaces import NB201Space
from sknas.spaces.base import Architecture, SearchSpace

try:  # run as a script (benchmarks/ on sys.path) or as benchmarks.proxies_nb201
    from _common import command_line, machine_description, markdown_table, write_section
except ImportError:  # pragma: no cover
    from benchmarks._common import (
        command_line,
        machine_description,
        markdown_table,
        write_section,
    )

DEFAULT_CSV = Path(__file__).resolve().parents[1].parent / "shared/data/nb201/nb201_cifar10.csv"
#: Spearman's rho over all NAS-Bench-201 cells on CIFAR-10 (Abdelfattah et al. 2021).
LITERATURE = {"synflow": "0.74", "params": "0.75"}
TITLE = "Zero-cost proxies on NAS-Bench-201"
PRESCREEN_TITLE = "Proxy pre-screen on NAS-Bench-201"


def config_of(args: argparse.Namespace) -> str:
    """What the cached proxy scores depend on."""
    return f"C={args.channels}, N={args.cells_per_stage}, seed={args.seed}"


def _marks(n_trials: int) -> list[int]:
    return sorted({m for m in (25, 50, 100, 150) if m <= n_trials} | {n_trials})


def stand_in_batch(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits images as flat 3x32x32 CIFAR-sized inputs and their labels."""
    import torch
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rows = np.random.default_rng(seed).choice(len(X), size=n, replace=False)
    images = torch.as_tensor(X[rows], dtype=torch.float32).reshape(n, 1, 8, 8)
    images = torch.nn.functional.interpolate(images, size=(32, 32), mode="bilinear")
    images = images.expand(n, 3, 32, 32)
    images = (images - images.mean()) / images.std()
    return images.reshape(n, -1).numpy().copy(), y[rows].astype(np.int64)


def correlations(
    bench: NB201Benchmark, space: SearchSpace, cells: int, seed: int
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Spearman's rho of every proxy against both accuracies, and seconds per cell."""
    import torch
    from scipy.stats import spearmanr

    X, y = stand_in_batch(seed=seed)
    rows = np.random.default_rng(seed).choice(len(bench.arch_strs), size=cells, replace=False)
    scores: dict[str, list[float]] = {name: [] for name in PROXIES}
    seconds = dict.fromkeys(PROXIES, 0.0)
    for count, row in enumerate(rows, start=1):
        arch = space.arch_from_str(bench.arch_strs[row])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 100_003 + int(row))
            module = space.build_module(arch, X.shape[1], 10)
        for name, proxy in PROXIES.items():
            start = time.perf_counter()
            scores[name].append(proxy(module, X, y))
            seconds[name] += time.perf_counter() - start
        if count % 50 == 0:
            print(f"  {count}/{cells} cells", flush=True)
    rho: dict[str, dict[str, float]] = {}
    for name, values in scores.items():
        finite = np.nan_to_num(np.asarray(values), neginf=-1e300, posinf=1e300)
        rho[name] = {
            metric: float(spearmanr(finite, [bench.query(a, metric) for a in
                                             (bench.arch_strs[r] for r in rows)]).statistic)
            for metric in ("valid", "test")
        }
    return rho, {name: s / cells for name, s in seconds.items()}


def table_rho(bench: NB201Benchmark) -> list[str]:
    """Spearman's rho of the table's own parameter count, over every cell (a reference)."""
    from scipy.stats import spearmanr

    keys = bench.arch_strs
    params = [bench.query(key, "params") for key in keys]
    return [
        f"{spearmanr(params, [bench.query(key, metric) for key in keys]).statistic:.3f}"
        for metric in ("valid", "test")
    ]


def prescreen(
    bench: NB201Benchmark,
    space: SearchSpace,
    args: argparse.Namespace,
) -> list[list[str]]:
    """Rows ``strategy | pre-screen | test @ marks``: alone, by synflow, by params."""
    X, y = stand_in_batch(seed=args.seed)
    cache: dict[tuple[str, str], float] = {}
    if args.cache is not None and args.cache.is_file():
        stored = json.loads(args.cache.read_text(encoding="utf-8"))
        if stored.get("config") == config_of(args):
            cache = {(p, k): float(v) for p, k, v in stored["scores"]}

    def scorer(proxy: str) -> Any:
        def score(arch: Architecture) -> float:
            key = (proxy, arch.key())
            if key not in cache:
                cache[key] = proxy_score(space, arch, proxy, X, y, n_outputs=10, seed=args.seed)
            return cache[key]

        return score

    def wrapped(strategy: str, proxy: str) -> Any:
        def factory(seed: int, search_space: SearchSpace) -> ProxyPrescreenSampler:
            base = make_sampler(strategy, seed=seed, search_space=search_space)
            return ProxyPrescreenSampler(
                base, search_space=search_space, proxy=scorer(proxy),
                n_candidates=args.candidates,
            )

        factory.__name__ = f"{strategy}+{proxy}"
        return factory

    marks = _marks(args.n_trials)
    rows = []
    for strategy in args.strategies:
        for label, strat in (
            ("none", strategy),
            (f"synflow, {args.candidates} candidates", wrapped(strategy, "synflow")),
            (f"params, {args.candidates} candidates", wrapped(strategy, "params")),
        ):
            start = time.perf_counter()
            result = run_benchmark(
                bench, strat, n_trials=args.n_trials, seeds=args.prescreen_seeds
            )
            mean, se = result.mean_se(marks)
            cells = [f"{m:.2f} ± {s:.2f}" for m, s in zip(mean, se)]
            rows.append([strategy, label, *cells, f"{time.perf_counter() - start:.0f}"])
            print("| " + " | ".join(rows[-1]) + " |", flush=True)
            if args.cache is not None:
                scores = [[p, k, v] for (p, k), v in cache.items()]
                args.cache.write_text(
                    json.dumps({"config": config_of(args), "scores": scores}), encoding="utf-8"
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells-per-stage", type=int, default=5)
    parser.add_argument("--prescreen-seeds", type=int, default=0)
    parser.add_argument("--n-trials", type=int, default=50)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--strategies", nargs="+", default=["random", "evolution"])
    parser.add_argument(
        "--cache", type=Path, default=None,
        help="JSON file keeping the pre-screen's proxy scores between runs",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    bench = NB201Benchmark.from_csv(args.csv)
    space = NB201Space(
        channels=args.channels, cells_per_stage=args.cells_per_stage, image_shape=(3, 32, 32)
    )
    config = f"C={args.channels}, N={args.cells_per_stage}"
    header = f"Command: `{command_line()}`. Machine: {machine_description()}."
    if args.cells > 0:
        rho, seconds = correlations(bench, space, args.cells, args.seed)
        table = [
            [name, f"{r['valid']:.3f}", f"{r['test']:.3f}", LITERATURE.get(name, "-"),
             f"{seconds[name]:.3f}"]
            for name, r in rho.items()
        ]
        table.append(["table's `params_m` column, all 15,625 cells", *table_rho(bench), "-", "-"])
        headers = ["proxy", "rho vs valid 12 ep", "rho vs test 200 ep",
                   "literature, vs test (all cells)", "s per cell"]
        body = [
            header,
            "",
            f"{args.cells} cells sampled uniformly (seed {args.seed}) from the CIFAR-10 table; "
            f"each cell's network built by `NB201Space` ({config}, 32x32 inputs, 10 classes) "
            "with seeded initial weights. **Stand-in data:** no CIFAR-10 images are available "
            "offline, so `naswot`, `snip` and `grad_norm` see 64 digits images (scikit-learn, "
            "8x8 grey) resized to 32x32 and copied into 3 channels, with the digit labels; "
            "`synflow` and `params` need no data. Spearman's rho (literature: Abdelfattah "
            "et al. 2021, all 15,625 cells, real CIFAR-10):",
            "",
            markdown_table(headers, table),
        ]
        print(body[-1], flush=True)
        if args.write_docs:
            write_section(TITLE, "\n".join(body))
    if args.prescreen_seeds > 0:
        rows = prescreen(bench, space, args)
        marks = _marks(args.n_trials)
        body = [
            header,
            "",
            f"`ProxyPrescreenSampler` draws {args.candidates} proposals per trial from the "
            f"strategy and keeps the best by the proxy, computed on the built network ({config}; "
            "`synflow` is data-free, so no stand-in data is involved). Test accuracy (%) of "
            f"the incumbent, mean ± s.e. over {args.prescreen_seeds} seeds:",
            "",
            markdown_table(
                ["strategy", "pre-screen", *(f"test @ {m}" for m in marks), "wall s"], rows
            ),
        ]
        if args.write_docs:
            write_section(PRESCREEN_TITLE, "\n".join(body))


if __name__ == "__main__":
    main()
