"""Score NAS-Bench-201 cells at initialisation with zero-cost proxies.

Builds 8 cells' networks (a small configuration so it runs in seconds), scores
each with every proxy of ``sknas.proxies`` and, when the table is there, prints
Spearman's rho against its validation accuracy. Run from the repository root::

    python examples/zero_cost_proxies.py [path/to/nb201_cifar10.csv]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sknas.proxies import PROXIES, proxy_score
from sknas.spaces import NB201Space

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/data/nb201/nb201_cifar10.csv"


def main(path: str | Path = DEFAULT) -> None:
    space = NB201Space(channels=4, cells_per_stage=1, image_shape=(3, 8, 8))
    rng = np.random.default_rng(0)
    cells = [space.sample(rng) for _ in range(8)]
    X = rng.normal(size=(16, 3 * 8 * 8)).astype(np.float32)  # stand-in batch: noise
    y = rng.integers(0, 10, size=16)
    scores = {
        name: [proxy_score(space, arch, name, X, y, n_outputs=10) for arch in cells]
        for name in PROXIES
    }
    for name, values in scores.items():
        print(f"{name:>9}: " + " ".join(f"{v:9.3g}" for v in values))
    if Path(path).is_file():
        from scipy.stats import spearmanr

        from sknas.benchmarks import NB201Benchmark

        bench = NB201Benchmark.from_csv(path)
        accuracy = [bench.query(arch, "valid") for arch in cells]
        for name, values in scores.items():
            rho = spearmanr(np.nan_to_num(values, neginf=-1e300), accuracy).statistic
            print(f"Spearman's rho of {name} with the 12-epoch validation accuracy: {rho:.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
