"""How well each latency model predicts measured latency (R2 and Spearman's rho).

Three parts, written to docs/multi_objective.md:

1. On this machine: NAS-Bench-201 networks (``--channels``, ``--cells`` per
   stage, 32x32 RGB input, batch 1, one thread) are measured whole
   (:class:`sknas.latency.MeasuredLatency`, the reference, measured twice to
   show its own noise) and predicted by the per-block lookup table
   (:class:`sknas.latency.LookupTableLatency`); the same for MLPs.
2. The model fitted to a device table (:class:`sknas.latency.TableLatencyModel`,
   gradient boosting on the one-hot cell encoding) trained on ``--train`` cells
   of each of NAS-Bench-201's six devices and scored on the other cells.
3. Whether a device table ranks cells like this machine does.

Usage::

    python benchmarks/latency_models.py --archs 60 --train 500
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import r2_score

from sknas.latency import (
    LookupTableLatency,
    MeasuredLatency,
    TableLatencyModel,
    read_latency_table,
)
from sknas.spaces import MLPSpace, NB201Space

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201"
DEVICES = ("pixel3", "raspi4", "fpga", "eyeriss", "titan_rtx_1", "gold_6240")


def _scores(predicted: np.ndarray, measured: np.ndarray) -> str:
    rho = spearmanr(predicted, measured).statistic
    return f"R2 {r2_score(measured, predicted):6.3f}  Spearman {rho:5.3f}"


def local(space, n_features: int, archs: list, repeats: int) -> tuple[np.ndarray, str]:
    first = MeasuredLatency(space, n_features, 10, repeats=repeats)
    second = MeasuredLatency(space, n_features, 10, repeats=repeats)
    lut = LookupTableLatency(space, n_features, 10, repeats=repeats)
    measured = np.array([first.predict(a) for a in archs])
    again = np.array([second.predict(a) for a in archs])
    table = np.array([lut.predict(a) for a in archs])
    lines = (f"  measured twice: {_scores(again, measured)}\n"
             f"  lookup table ({len(lut.table_)} blocks): {_scores(table, measured)}")
    return measured, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--train", type=int, default=500)
    parser.add_argument("--latency", default=str(DATA / "nb201_latency.csv.gz"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    nb201 = NB201Space(channels=args.channels, cells_per_stage=args.cells)
    cells = [nb201.sample(rng) for _ in range(args.archs)]
    measured, lines = local(nb201, 3 * 32 * 32, cells, args.repeats)
    print(f"NB201 C={args.channels} N={args.cells}, {args.archs} cells on this CPU "
          f"({measured.min():.2f}..{measured.max():.2f} ms):\n{lines}")
    mlp = MLPSpace()
    nets = [mlp.sample(rng) for _ in range(args.archs)]
    mlp_measured, lines = local(mlp, 64, nets, args.repeats)
    print(f"MLP, {args.archs} networks on 64 features "
          f"({mlp_measured.min():.3f}..{mlp_measured.max():.3f} ms):\n{lines}")

    print(f"Fitted to a device table ({args.train} cells, scored on the others):")
    space = NB201Space()
    for device in DEVICES:
        names, latency = read_latency_table(args.latency, device)
        order = rng.permutation(len(names))
        train, test = order[: args.train], order[args.train:]
        archs = [space.arch_from_str(s) for s in names]
        model = TableLatencyModel(space).fit([archs[i] for i in train], latency[train])
        predicted = model.predict([archs[i] for i in test])
        by_str = dict(zip(names, latency))
        here = np.array([by_str[c.key()] for c in cells])
        rho_here = spearmanr(here, measured).statistic
        print(f"  {device:12s} {_scores(predicted, latency[test])}   "
              f"table vs this CPU: Spearman {rho_here:5.3f}")


if __name__ == "__main__":
    main()
