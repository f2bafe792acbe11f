"""FBNet's latency lookup table on the mobile space: do block latencies add up to a network's?

Samples ``--archs`` networks of ``MobileSpace`` (per-block choices, FBNet's
skip form of depth) plus its first candidate and the four known networks at
width 0.5, all for the images of ``--data`` (digits 8x8 or MNIST 28x28). For
each network it measures the whole forward pass (batch 1, ``--threads``
threads, median of ``--repeats`` passes, by the thread's CPU time unless
``--clock wall``; see benchmarks/_mobile.py) and predicts it as the sum of its
parts' latencies (stem, every MBConv block, head; from
``MobileSpace.latency_blocks``), each part measured once per distinct
operation and input shape (``sknas.latency.LookupTableLatency``). The table is
calibrated (``LookupTableLatency.calibrate``: scale and offset fitted on
``--calibrate`` further random networks timed whole, none of them among the
evaluated ones). It reports R2 of the table's sum as it is, R2 of the
calibrated prediction (held out), R2 after a linear fit on the evaluated
networks themselves (squared Pearson correlation) and Spearman's rank
correlation.

Usage::

    nice -n 10 python benchmarks/mobile_latency.py --data mnist --archs 60 --write-docs
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import r2_score

from sknas.latency import LookupTableLatency
from sknas.spaces import MobileSpace

try:  # run as a script (benchmarks/ on sys.path) or as benchmarks.mobile_latency
    from _common import command_line, machine_description, markdown_table, write_section
    from _mobile import MOBILE_DOCS, latency_function
except ImportError:  # pragma: no cover
    from benchmarks._common import (
        command_line,
        machine_description,
        markdown_table,
        write_section,
    )
    from benchmarks._mobile import MOBILE_DOCS, latency_function

KNOWN = ("mobilenet_v2", "mnasnet_1_0", "mobilenet_v3_small", "mobilenet_v3_large")
SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(SHAPES), default="mnist")
    parser.add_argument("--archs", type=int, default=60, help="sampled networks")
    parser.add_argument("--calibrate", type=int, default=8,
                        help="further random networks that calibrate the table")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: the thread's CPU time (1 thread); wall: wall-clock time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    measure_latency, source = latency_function(args.clock)
    shape = SHAPES[args.data]
    n_features, n_outputs = int(np.prod(shape)), 10
    space = MobileSpace(image_shape=shape, granularity="block", depth="skip")
    rng = np.random.default_rng(args.seed)
    archs = [space.decode(space.initial_params()[0])]
    archs += [space.network(name, 0.5) for name in KNOWN]
    seen = {arch.key() for arch in archs}
    calibration: list = []
    while len(archs) + len(calibration) < args.archs + 1 + len(KNOWN) + args.calibrate:
        arch = space.sample(rng)
        if arch.key() not in seen:
            seen.add(arch.key())
            (calibration if len(calibration) < args.calibrate else archs).append(arch)

    options = dict(repeats=args.repeats, warmup=args.warmup, n_threads=args.threads)

    class Table(LookupTableLatency):
        def _time(self, module, input_shape):  # the benchmark's clock for parts and wholes
            return measure_latency(module, input_shape, **options)

    lut = Table(space, n_features, n_outputs, **options)
    if args.calibrate:
        lut.calibrate(calibration)
    scale, offset = lut.calibration_ or (1.0, 0.0)
    records = []
    for arch in archs:
        module = space.build_module(arch, n_features, n_outputs)
        measured = measure_latency(module, (n_features,), **options)
        predicted = lut.table_sum(arch)
        parts = space.latency_blocks(arch, n_features, n_outputs)
        records.append({"arch": arch.key(), "measured_ms": measured, "lut_ms": predicted,
                        "calibrated_ms": scale * predicted + offset, "parts": len(parts)})
        print(f"{measured:8.3f} ms measured {predicted:8.3f} ms table "
              f"{scale * predicted + offset:8.3f} ms calibrated  {arch.key()[:60]}")

    measured = np.array([r["measured_ms"] for r in records])
    predicted = np.array([r["lut_ms"] for r in records])
    calibrated = np.array([r["calibrated_ms"] for r in records])
    result = {
        "data": args.data, "networks": len(records), "table_entries": len(lut.table_),
        "calibration_networks": len(calibration), "scale": scale, "offset_ms": offset,
        "r2": float(r2_score(measured, predicted)),
        "r2_calibrated": float(r2_score(measured, calibrated)),
        "r2_linear": float(pearsonr(measured, predicted).statistic ** 2),
        "spearman": float(spearmanr(measured, predicted).statistic),
        "ratio_median": float(np.median(predicted / measured)),
        "measured_range_ms": [float(measured.min()), float(measured.max())],
        "records": records,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "records"}, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    if args.write_docs:
        rows = [[
            f"{args.data} {shape}", str(result["networks"]), str(result["table_entries"]),
            f"{measured.min():.2f} - {measured.max():.2f}", f"{result['r2']:.3f}",
            f"{len(calibration)}: {scale:.2f} x sum + {offset:.2f} ms",
            f"{result['r2_calibrated']:.3f}", f"{result['r2_linear']:.3f}",
            f"{result['spearman']:.3f}", f"{result['ratio_median']:.2f}",
        ]]
        body = (
            f"Measured by `{command_line()}` on {machine_description()}; latency: "
            f"{source}, batch 1, {args.threads} thread(s), median of {args.repeats} "
            "passes.\n\n"
            + markdown_table(
                ["images", "networks", "table entries", "measured ms (min - max)",
                 "R2 (table sum as is)", "calibration (networks: fit)",
                 "R2 (calibrated, held out)", "R2 (linear fit in sample)", "Spearman",
                 "median table / measured"],
                rows,
            )
        )
        write_section(f"Latency lookup table ({args.data})", body, MOBILE_DOCS)
    return result


if __name__ == "__main__":
    main()
