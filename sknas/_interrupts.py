"""What Ctrl-C (SIGINT) does while a search runs.

While :func:`sigint_guard` is active (the whole of ``fit``, in the main
thread), Python's default SIGINT handler is replaced by one that counts the
interrupts and raises :class:`KeyboardInterrupt` only where the running code
has said it may be stopped:

- inside a trial (:func:`interruptible` with ``threshold=1``) the first
  interrupt stops the trial at once;
- everywhere else the first interrupt is only recorded (it is raised at the
  next trial boundary, :func:`check`), so that a trial is never half-told to
  the storage; from the second interrupt on, ``KeyboardInterrupt`` is raised
  wherever the code is, except in :func:`shielded` blocks (which mark the
  interrupted trial failed), where it is raised when the block ends.

Without an active guard (``fit`` called from another thread, or a program that
installed its own SIGINT handler) these functions do nothing, and a
``KeyboardInterrupt`` is whatever Python raises.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["sigint_guard", "interruptible", "shielded", "check", "note", "count"]

#: Interrupts after which ``KeyboardInterrupt`` is raised outside of trials.
ABORT_COUNT = 2


@dataclass
class _State:
    depth: int = 0  # nested guards
    count: int = 0  # interrupts received (or noted) since the outermost guard began
    threshold: int | None = ABORT_COUNT  # raise when count reaches it; None: record only


_state = _State()


def _on_sigint(signum: int, frame: Any) -> None:
    _state.count += 1
    if _state.threshold is not None and _state.count >= _state.threshold:
        raise KeyboardInterrupt


@contextmanager
def sigint_guard(*, force: bool = False) -> Iterator[None]:
    """Count Ctrl-C in the block instead of letting the first one raise anywhere.

    The handler is installed only in the main thread and only when the
    current one is Python's default (``force=True``: whatever it is); the
    previous handler is restored afterwards. Nested guards share the outer
    guard's count.

    Parameters
    ----------
    force : bool, default=False
        Replace any SIGINT handler (worker processes that own theirs).
    """
    outer = _state.depth == 0
    install = (
        outer
        and threading.current_thread() is threading.main_thread()
        and (force or signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    )
    previous = signal.signal(signal.SIGINT, _on_sigint) if install else None
    if outer:
        _state.count, _state.threshold = 0, ABORT_COUNT
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if install:
            signal.signal(signal.SIGINT, previous)
        if outer:
            _state.count = 0


def count() -> int:
    """Interrupts received (or noted) since the active guard began; 0 without one."""
    return _state.count if _state.depth else 0


def note() -> None:
    """Count a ``KeyboardInterrupt`` that did not come through the handler (at least one)."""
    if _state.depth:
        _state.count = max(_state.count, 1)


def check(threshold: int = 1) -> None:
    """Raise ``KeyboardInterrupt`` if ``threshold`` interrupts were received.

    Called where stopping is safe (between trials), it raises an interrupt
    that was recorded while stopping was not.
    """
    if _state.depth and _state.count >= threshold:
        raise KeyboardInterrupt


@contextmanager
def _threshold(threshold: int | None) -> Iterator[None]:
    previous = _state.threshold
    received = _state.count
    _state.threshold = threshold
    try:
        yield
    finally:
        _state.threshold = previous
    if (
        _state.depth
        and previous is not None
        and _state.count > received
        and _state.count >= previous
    ):
        raise KeyboardInterrupt  # received during the block, and due now


@contextmanager
def interruptible(threshold: int = 1) -> Iterator[None]:
    """Let the ``threshold``-th interrupt raise ``KeyboardInterrupt`` inside the block.

    Raises at once if that many were already received.
    """
    check(threshold)
    with _threshold(threshold):
        yield


@contextmanager
def shielded() -> Iterator[None]:
    """Record interrupts in the block; raise a due one when it ends."""
    with _threshold(None):
        yield
