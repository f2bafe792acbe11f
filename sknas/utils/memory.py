"""Turn running out of memory while training a candidate into a clean, recorded failure."""

from __future__ import annotations

import gc
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CandidateOutOfMemoryError", "is_out_of_memory", "free_memory", "release_on_oom"]


class CandidateOutOfMemoryError(MemoryError):
    """A candidate ran out of (host or GPU) memory; what it held has been freed."""


def is_out_of_memory(exc: BaseException) -> bool:
    """True for ``MemoryError``, ``torch.cuda.OutOfMemoryError`` and torch's other OOM errors.

    Parameters
    ----------
    exc : BaseException
        The exception to classify.

    Returns
    -------
    bool
    """
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    # Other backends (MPS, older CUDA builds) raise a RuntimeError saying so.
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_memory(device: str) -> None:
    """Collect garbage and, on a CUDA device, return cached blocks to the driver.

    Parameters
    ----------
    device : str
        The torch device that was used.
    """
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and "cuda" in str(device) and torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextmanager
def release_on_oom(device: str, what: str = "training the candidate") -> Iterator[None]:
    """Re-raise running out of memory as :class:`CandidateOutOfMemoryError`, memory freed.

    The frames of the original traceback (which hold the network, its
    optimiser state and the batch) are cleared before memory is collected, so
    the next candidate starts with that memory available.

    Parameters
    ----------
    device : str
        The torch device in use (named in the message; its cache is emptied).
    what : str, default="training the candidate"
        What was running, for the message.
    """
    try:
        yield
    except BaseException as exc:
        if not is_out_of_memory(exc):
            raise
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"out of memory on {device} while {what} ({detail})"
        traceback.clear_frames(exc.__traceback__)
        exc.__traceback__ = None
        del exc
        free_memory(device)
        raise CandidateOutOfMemoryError(message) from None
