"""The training evaluator's small rules."""

from __future__ import annotations

from sknas.evaluation.training import MIN_STEPS_PER_EPOCH, effective_batch_size


def test_batch_size_keeps_enough_steps_per_epoch():
    assert effective_batch_size(128, 100_000) == 128
    assert effective_batch_size(128, 105) == 13  # 8 steps per epoch on iris-sized data
    assert 105 // effective_batch_size(256, 105) >= MIN_STEPS_PER_EPOCH
    assert effective_batch_size(32, 40) == 8  # never below 8 rows
    assert effective_batch_size(64, 5) == 5  # nor above the data


def test_patience_spans_the_patience_steps():
    from sknas.evaluation.training import patience_epochs

    assert patience_epochs(10, 0, n_rows=32, batch_size=8) == 10
    assert patience_epochs(10, 400, n_rows=32, batch_size=8) == 100  # 4 steps per epoch
    assert patience_epochs(10, 400, n_rows=10_000, batch_size=128) == 10
    assert patience_epochs(3, 10, n_rows=5, batch_size=8) == 10  # one step per epoch


def test_space_settings_clip_gradients_and_stretch_patience():
    import numpy as np
    from skorch.callbacks import GradientNormClipping

    from sknas.evaluation.training import TrainingEvaluator
    from sknas.spaces import RecurrentCellSpace

    space = RecurrentCellSpace(hidden_size=4, n_nodes=2, sequence_shape=(3, 1),
                               grad_clip=0.5, patience_steps=100, batch_size=8)
    evaluator = TrainingEvaluator(space, task="classification", n_outputs=2,
                                  scorer=lambda *a: 0.0, splits=[], max_epochs=2, patience=5)
    arch = space.sample(np.random.default_rng(0))
    X, y = np.zeros((40, 3), dtype=np.float32), np.arange(40) % 2
    net = evaluator.build_net(arch, X, y, seed=0, max_epochs=2, valid=(X[:8], y[:8]))
    callbacks = dict(net.callbacks)
    assert isinstance(callbacks["grad_clip"], GradientNormClipping)
    assert callbacks["grad_clip"].gradient_clip_value == 0.5
    assert callbacks["early_stopping"].patience == 20  # 100 steps of 5 per epoch
    assert net.lr == arch.params["lr"] and net.batch_size == 8
    unclipped = RecurrentCellSpace(hidden_size=4, n_nodes=2, sequence_shape=(3, 1), grad_clip=0)
    net = TrainingEvaluator(unclipped, task="classification", n_outputs=2,
                            scorer=lambda *a: 0.0, splits=[], max_epochs=2,
                            patience=5).build_net(arch, X, y, seed=0, max_epochs=2)
    assert "grad_clip" not in dict(net.callbacks)
