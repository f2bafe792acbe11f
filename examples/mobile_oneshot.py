"""One-shot search of the mobile space on digits: ProxylessNAS with a latency lookup table.

ProxylessNAS trains one supernet of :class:`sknas.spaces.MobileSpace` (every
block slot holds an MBConv per kernel, expansion and squeeze-and-excitation
choice, plus the identity where a block may be skipped) with binary gates, so
one path is in memory at a time, and adds the expected latency of the
network (a lookup table of the candidates' latencies, measured on this CPU)
to the architecture's loss. The derived network is then trained from scratch
and refitted like any other candidate. Channels and activations are fixed
during one-shot search (``MobileSpace.supernet_params``).

Usage::

    python examples/mobile_oneshot.py [--epochs 2] [--cost-weight 0.1]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.latency import measure_latency
from sknas.oneshot import ProxylessNAS
from sknas.spaces import MobileSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="supernet epochs")
    parser.add_argument("--max-epochs", type=int, default=6, help="epochs of the retraining")
    parser.add_argument("--cost-weight", type=float, default=0.1, help="latency term weight")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)  # images (n, C, H, W)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    # FBNet's and ProxylessNAS' layout: choices per block, depth by skipping blocks
    space = MobileSpace(granularity="block", depth="skip", max_blocks=2)
    print("fixed during the one-shot search:", space.supernet_params())

    strategy = ProxylessNAS(epochs=args.epochs, options={"cost_weight": args.cost_weight})
    model = NASClassifier(
        search_space=space, strategy=strategy, max_epochs=args.max_epochs,
        random_state=args.seed,
    ).fit(X_train, y_train)
    record = model.study_.user_attrs["sknas:oneshot"]
    print(f"supernet search: {record['search_time']:.1f} s, {len(record['history'])} epochs")
    print("derived network:", model.best_architecture_.key())
    print(f"test accuracy: {model.score(X_test, y_test):.3f}")

    fitted = model.search_space_  # the space as the estimator laid it out for 8x8 images
    first = fitted.decode(fitted.initial_params()[0])  # MobileNetV2's layout on the space
    for name, arch in (("derived", model.best_architecture_), ("MobileNetV2 layout", first)):
        ms = measure_latency(fitted.build_module(arch, 64, 10), (64,), repeats=20)
        print(f"{name:>20}: {ms:.2f} ms per image on this CPU (batch 1, one thread)")


if __name__ == "__main__":
    main()
