"""Ctrl-C handling: the SIGINT guard, and skorch stop signals told apart from Ctrl-C."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
import torch
from skorch import NeuralNetClassifier

from sknas import _interrupts
from sknas.evaluation._nets import SkorchClassifier
from sknas.evaluation.callbacks import CandidateTimeout, EarlyStopping


def _ctrl_c() -> None:
    signal.raise_signal(signal.SIGINT)


def test_guard_records_first_interrupt_outside_trials_and_raises_it_at_the_boundary():
    before = signal.getsignal(signal.SIGINT)
    with _interrupts.sigint_guard(force=True):
        assert signal.getsignal(signal.SIGINT) is not before
        _ctrl_c()  # e.g. while a trial is told to the storage: only recorded
        assert _interrupts.count() == 1
        with pytest.raises(KeyboardInterrupt):
            _interrupts.check()  # the next trial boundary
        with pytest.raises(KeyboardInterrupt):
            with _interrupts.interruptible():  # or the next trial
                pass
    assert signal.getsignal(signal.SIGINT) is before
    assert _interrupts.count() == 0


def test_guard_raises_first_interrupt_inside_a_trial_and_second_anywhere():
    with _interrupts.sigint_guard(force=True):
        with pytest.raises(KeyboardInterrupt), _interrupts.interruptible():
            _ctrl_c()
        assert _interrupts.count() == 1
        marked = False
        with pytest.raises(KeyboardInterrupt), _interrupts.shielded():
            _ctrl_c()  # recorded while the trial is marked failed...
            assert _interrupts.count() == 2
            marked = True
        assert marked  # ...and raised once it is marked


def test_second_interrupt_raises_outside_trials():
    with _interrupts.sigint_guard(force=True):
        _interrupts.note()  # a KeyboardInterrupt already stopped the search
        with pytest.raises(KeyboardInterrupt), _interrupts.interruptible(_interrupts.ABORT_COUNT):
            _ctrl_c()  # e.g. during the refit


def test_without_guard_nothing_is_counted():
    assert _interrupts.count() == 0
    _interrupts.note()  # without a guard nothing is counted
    _interrupts.check()
    assert _interrupts.count() == 0


class _Forward(torch.nn.Module):
    """A linear classifier whose forward can raise KeyboardInterrupt (a Ctrl-C) at a call."""

    def __init__(self, interrupt_at: int = -1) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)
        self.calls = 0
        self.interrupt_at = interrupt_at

    def forward(self, X):
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        return self.linear(X)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _net(cls, module, **kwargs):
    return cls(
        module, criterion=torch.nn.CrossEntropyLoss, max_epochs=20, batch_size=16,
        verbose=0, callbacks__print_log=None, **kwargs,
    )


def test_ctrl_c_in_an_epoch_goes_through_sknas_nets_but_not_skorch_ones():
    X, y = _data()
    swallowed = _net(NeuralNetClassifier, _Forward(interrupt_at=5)).fit(X, y)
    assert len(swallowed.history) == 1  # skorch ends training quietly: the bug sknas avoids
    with pytest.raises(KeyboardInterrupt):
        _net(SkorchClassifier, _Forward(interrupt_at=5)).fit(X, y)


def test_early_stopping_and_time_limit_still_end_training():
    X, y = _data()
    stopped = _net(
        SkorchClassifier, _Forward(), lr=0.0,
        callbacks=[EarlyStopping(monitor="valid_loss", patience=2)],
    ).fit(X, y)
    assert len(stopped.history) == 3  # no improvement with lr=0: patience runs out
    timed = _net(
        SkorchClassifier, _Forward(), callbacks=[CandidateTimeout(time.perf_counter())]
    ).fit(X, y)
    assert len(timed.history) == 1 and timed.history[-1, "candidate_timeout"]
