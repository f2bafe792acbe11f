"""The training evaluator's small rules."""

from __future__ import annotations

from sknas.evaluation.training import MIN_STEPS_PER_EPOCH, effective_batch_size


def test_batch_size_keeps_enough_steps_per_epoch():
    assert effective_batch_size(128, 100_000) == 128
    assert effective_batch_size(128, 105) == 13  # 8 steps per epoch on iris-sized data
    assert 105 // effective_batch_size(256, 105) >= MIN_STEPS_PER_EPOCH
    assert effective_batch_size(32, 40) == 8  # never below 8 rows
    assert effective_batch_size(64, 5) == 5  # nor above the data
