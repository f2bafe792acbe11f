"""Latency measured on this machine: median forward-pass time after warm-up."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sknas.utils._threads import torch_threads

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["measure_latency", "MeasuredLatency"]


def _check_positive(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)


def measure_latency(
    module: torch.nn.Module,
    input_shape: Sequence[int],
    *,
    batch_size: int = 1,
    repeats: int = 30,
    warmup: int = 5,
    n_threads: int | None = 1,
    device: str = "cpu",
) -> float:
    """Median latency of ``module``'s forward pass, in milliseconds.

    The module runs in evaluation mode without gradients on a batch of zeros:
    ``warmup`` passes are discarded (allocation, lazy initialisation), then
    ``repeats`` passes are timed one by one with :func:`time.perf_counter`
    and the median is returned. The thread count is fixed for the
    measurement and restored afterwards. On a shared machine the figure moves
    with the load: repeated measurements of one network typically differ by a
    few percent, more when other processes compete for the cores.

    Parameters
    ----------
    module : torch.nn.Module
        The network (left in the training mode it had).
    input_shape : sequence of int
        Shape of one input, without the batch dimension.
    batch_size : int, default=1
        Inputs per forward pass.
    repeats : int, default=30
        Timed passes.
    warmup : int, default=5
        Untimed passes before them.
    n_threads : int or None, default=1
        torch intra-op threads during the measurement (None: leave as set).
    device : str, default="cpu"
        torch device; on CUDA each pass is synchronised before it is timed.

    Returns
    -------
    float
        Median milliseconds per forward pass (of the whole batch).

    Examples
    --------
    >>> import torch
    >>> ms = measure_latency(torch.nn.Linear(8, 2), (8,), repeats=5, warmup=1)
    >>> ms > 0
    True
    """
    import torch

    batch_size = _check_positive("batch_size", batch_size, 1)
    repeats = _check_positive("repeats", repeats, 1)
    warmup = _check_positive("warmup", warmup, 0)
    x = torch.zeros((batch_size, *(int(v) for v in input_shape)), device=device)
    sync: Callable[[], None] = (
        torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    )
    was_training = module.training
    module.eval()
    times = np.empty(repeats)
    try:
        with torch_threads(n_threads), torch.no_grad():
            for _ in range(warmup):
                module(x)
            sync()
            for i in range(repeats):
                start = time.perf_counter()
                module(x)
                sync()
                times[i] = time.perf_counter() - start
    finally:
        module.train(was_training)
    return float(np.median(times) * 1000.0)


class MeasuredLatency:
    """Measured latency of a space's architectures, cached per architecture key.

    Parameters
    ----------
    search_space : SearchSpace
        Builds the networks.
    n_features_in, n_outputs : int
        Input width and outputs of the networks.
    batch_size, repeats, warmup, n_threads : int
        As in :func:`measure_latency`.
    device : str, default="cpu"
        torch device.

    Examples
    --------
    >>> from sknas.spaces import MLPSpace
    >>> space = MLPSpace()
    >>> model = MeasuredLatency(space, 4, 2, repeats=3, warmup=1)
    >>> arch = space.sample(np.random.default_rng(0))
    >>> model.predict(arch) == model.predict(arch)  # the second call is cached
    True
    """

    def __init__(
        self,
        search_space: SearchSpace,
        n_features_in: int,
        n_outputs: int,
        *,
        batch_size: int = 1,
        repeats: int = 30,
        warmup: int = 5,
        n_threads: int | None = 1,
        device: str = "cpu",
    ) -> None:
        self.search_space = search_space
        self.n_features_in = int(n_features_in)
        self.n_outputs = int(n_outputs)
        self.batch_size = batch_size
        self.repeats = repeats
        self.warmup = warmup
        self.n_threads = n_threads
        self.device = device
        self.cache_: dict[str, float] = {}

    def measure_module(self, module: torch.nn.Module) -> float:
        """Measure a module built for this model's input (not cached).

        Parameters
        ----------
        module : torch.nn.Module
            A network taking ``(batch, n_features_in)`` inputs.

        Returns
        -------
        float
            Median milliseconds.
        """
        return measure_latency(
            module.to(self.device),
            (self.n_features_in,),
            batch_size=self.batch_size,
            repeats=self.repeats,
            warmup=self.warmup,
            n_threads=self.n_threads,
            device=self.device,
        )

    def predict(self, arch: Architecture, module: torch.nn.Module | None = None) -> float:
        """Latency of ``arch`` in milliseconds, measured on first request.

        Parameters
        ----------
        arch : Architecture
            An architecture of the space.
        module : torch.nn.Module, optional
            Its network, when already built.

        Returns
        -------
        float
        """
        key = arch.key()
        if key not in self.cache_:
            if module is None:
                module = self.search_space.build_module(arch, self.n_features_in, self.n_outputs)
            self.cache_[key] = self.measure_module(module)
        return self.cache_[key]
