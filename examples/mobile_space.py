"""Search the mobile space (MBConv blocks, as MnasNet/FBNet/MobileNetV3) on digits.

Three things: the known networks built from the space's blocks (their
parameter counts at 224x224 and 1000 classes, built on torch's meta device so
nothing is allocated); a short search of :class:`sknas.spaces.MobileSpace` on
scikit-learn's 8x8 digits, whose first candidate is MobileNetV2's layout on
this space; and the latency of the best network next to its per-block lookup
table (``latency_blocks``: stem, blocks, head), each timed on this CPU.

Usage::

    python examples/mobile_space.py [--trials 3] [--epochs 6]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.spaces import MobileSpace


def cpu_ms(module: torch.nn.Module, shape: tuple[int, ...], repeats: int = 20) -> float:
    """Median CPU time (ms, one thread) of a forward pass of a batch of one."""
    x = torch.zeros(1, *shape)
    times = []
    with torch.no_grad():
        module.eval()(x)
        for _ in range(repeats):
            start = time.thread_time()
            module(x)
            times.append(time.thread_time() - start)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    big = MobileSpace(image_shape=(3, 224, 224))
    for name in ("mobilenet_v2", "mnasnet_1_0", "mobilenet_v3_small", "mobilenet_v3_large"):
        with torch.device("meta"):
            module = big.build_module(big.network(name), 3 * 224 * 224, 1000)
        print(f"{name:20s} {sum(p.numel() for p in module.parameters()):>10,} parameters")

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    space = MobileSpace(width_multipliers=(0.5, 1.0), max_blocks=2)
    clf = NASClassifier(
        search_space=space, n_trials=args.trials, max_epochs=args.epochs,
        random_state=args.seed,
    ).fit(X_train, y_train)
    best = clf.best_architecture_
    print(f"\nfirst candidate (MobileNetV2 on this space): {clf.study_.trials[0].params}")
    print(f"best: {best}")
    print(f"validation accuracy {clf.best_score_:.4f}, "
          f"test accuracy {clf.score(X_test, y_test):.4f}")

    fitted = clf.search_space_
    network = fitted.build_module(best, 64, 10)
    parts = fitted.latency_blocks(best, 64, 10)
    table = sum(cpu_ms(part, shape) for _, part, shape in parts)
    print(f"latency (CPU, batch 1): whole network {cpu_ms(network, (64,)):.2f} ms, "
          f"sum of its {len(parts)} blocks {table:.2f} ms")
    v3 = fitted.network("mobilenet_v3_small", 0.5)
    print(f"mobilenet_v3_small@0.5 on 8x8 digits: "
          f"{cpu_ms(fitted.build_module(v3, 64, 10), (64,)):.2f} ms")


if __name__ == "__main__":
    main()
