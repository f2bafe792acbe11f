"""``python -m sknas.benchmarks``: run search strategies on a tabular benchmark."""

from __future__ import annotations

import sys

from sknas.benchmarks._cli import main

if __name__ == "__main__":
    sys.exit(main())
