"""The one helper that sets torch's thread count for a block of code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``n_threads`` torch intra-op threads, then restore the setting.

    The samplers' models are tiny, so they run on one thread (thread hand-offs
    cost more than they save, and on a busy machine a spinning second thread
    slows a proposal down a hundredfold); training uses the estimator's
    ``n_threads``.

    Parameters
    ----------
    n_threads : int or None
        Threads to use; None leaves torch's setting alone.

    Yields
    ------
    None
    """
    import torch

    previous = torch.get_num_threads()
    if n_threads is None or int(n_threads) == previous:
        yield
        return
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
