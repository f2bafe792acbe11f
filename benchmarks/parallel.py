"""Trials per minute of a search with ``n_jobs=1`` and ``n_jobs=2`` on this machine.

Both settings run the same search (random strategy, digits) for a fixed number of
trials; the time of the search alone (the fit minus the refit) gives trials per minute.
The space fixes the network's shape and batch size and varies only the learning rate and
weight decay, and every candidate trains for exactly ``--epochs`` epochs (no early
stopping, no pruning), so every trial costs the same and the ratio measures throughput
rather than which networks were drawn. The settings are interleaved and repeated, and
medians are reported with the speed-up ratio, next to a baseline measured in the same
run: the speed-up of two independent plain PyTorch training processes over one, i.e. what
this machine allows. The loky worker processes are started once
before measuring (a warm-up fit), as they are reused across fits.

Usage::

    python benchmarks/parallel.py [--trials 80] [--repeats 3] [--epochs 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from sklearn.datasets import load_digits

from sknas import NASClassifier
from sknas.spaces import MLPSpace

#: Every candidate has the same shape and cost; only lr and weight decay vary.
FIXED_COST_SPACE = MLPSpace(
    max_layers=2,
    widths=(128,),
    activations=("relu",),
    dropouts=(0.0,),
    norms=("none",),
    residual=(False,),
    batch_sizes=(64,),
    optimizers=("adam",),
)


def trials_per_minute(n_jobs: int, n_trials: int, epochs: int, seed: int) -> float:
    """Run one search and return its trials per minute (refit excluded)."""
    X, y = load_digits(return_X_y=True)
    clf = NASClassifier(
        search_space=FIXED_COST_SPACE,
        strategy="random",
        n_trials=n_trials,
        max_epochs=epochs,
        patience=epochs,
        pruner=None,
        n_jobs=n_jobs,
        random_state=seed,
        device="cpu",
    )
    start = time.perf_counter()
    clf.fit(X, y)
    search_time = time.perf_counter() - start - clf.refit_time_
    return 60.0 * clf.n_trials_ / search_time


def plain_training_seconds(epochs: int = 40) -> float:
    """Seconds of a plain PyTorch loop (one thread) training a small MLP on digits."""
    import torch

    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    Xt = torch.tensor(X, dtype=torch.float32)
    yt = torch.tensor(y)
    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
        torch.nn.ReLU(), torch.nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=generator)
        for i in range(0, len(Xt), 64):
            batch = order[i : i + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[batch]), yt[batch])
            loss.backward()
            optimizer.step()
            loss.item()
    return time.perf_counter() - start


def machine_ceiling(repeats: int) -> float:
    """Speed-up of two independent plain training processes over one (median ratio)."""
    from concurrent.futures import ProcessPoolExecutor

    ratios = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(plain_training_seconds, [2, 2]))  # warm up both processes
        for _ in range(repeats):
            alone = pool.submit(plain_training_seconds).result()
            together = max(pool.map(plain_training_seconds, [40, 40]))
            ratios.append(2 * alone / together)
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    trials_per_minute(2, 4, 1, seed=0)  # start the worker processes once
    rates: dict[int, list[float]] = {1: [], 2: []}
    for repeat in range(args.repeats):
        for n_jobs in (1, 2):
            rate = trials_per_minute(n_jobs, args.trials, args.epochs, seed=repeat)
            rates[n_jobs].append(rate)
            print(f"repeat {repeat}: n_jobs={n_jobs}: {rate:.1f} trials/min", flush=True)
    ceiling = machine_ceiling(args.repeats)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{'n_jobs':>8}{'trials/min (median)':>22}")
    print(f"{1:>8}{one:>22.1f}")
    print(f"{2:>8}{two:>22.1f}")
    print(f"speed-up n_jobs=2 / n_jobs=1: {two / one:.2f}x")
    print(
        f"baseline, same run: two plain PyTorch training processes / one: {ceiling:.2f}x "
        f"(sknas reaches {two / one / ceiling:.0%} of it)"
    )


if __name__ == "__main__":
    main()
