"""Write the bundled NAS-Bench-201 CIFAR-10 table (sknas/benchmarks/data/nb201_cifar10.csv.gz).

Keeps the columns :class:`sknas.benchmarks.NB201Benchmark` reads, with the values copied
verbatim from the source CSV (no re-formatting), gzip-compressed::

    python scripts/bundle_nb201.py ../shared/data/nb201/nb201_cifar10.csv
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

COLUMNS = [
    "arch_index", "arch_str", "cifar10_valid_acc_12ep", "cifar10_test_acc_12ep",
    "cifar10_test_acc_200ep", "cifar10_params_m", "cifar10_flops_m",
]
TARGET = Path(__file__).resolve().parents[1] / "sknas/benchmarks/data/nb201_cifar10.csv.gz"


def main(source: str) -> None:
    with open(source, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [[row[col] for col in COLUMNS] for row in reader]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    # mtime=0: the same source gives the same bytes.
    TARGET.write_bytes(gzip.compress(text.getvalue().encode(), compresslevel=9, mtime=0))
    print(f"{TARGET}: {len(rows)} rows, {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
