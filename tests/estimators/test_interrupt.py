"""Ctrl-C during fit keeps every finished trial and leaves a fitted estimator."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from sknas import NASClassifier
from sknas.spaces import MLPSpace


class InterruptingSpace(MLPSpace):
    """Raises KeyboardInterrupt (as Ctrl-C would) when building the n-th candidate."""

    def __init__(self, interrupt_at: int = 3, max_layers: int = 2):
        super().__init__(max_layers=max_layers)
        self.interrupt_at = interrupt_at

    def build_module(self, arch, n_features_in, n_outputs):
        self._built = getattr(self, "_built", 0) + 1
        if self._built == self.interrupt_at:
            raise KeyboardInterrupt
        return super().build_module(arch, n_features_in, n_outputs)


def test_keyboard_interrupt_keeps_finished_trials(tmp_path):
    X, y = load_iris(return_X_y=True)
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    clf = NASClassifier(
        search_space=InterruptingSpace(interrupt_at=3, max_layers=2),
        n_trials=10, max_epochs=5, random_state=0, device="cpu", pruner=None,
        storage=storage, study_name="interrupted",
    )
    message = r"interrupted by the user after 3 finished trials \(2 complete\)"
    with pytest.warns(UserWarning, match=message):
        clf.fit(X, y)
    assert list(clf.cv_results_["state"]) == ["COMPLETE", "COMPLETE", "FAIL"]
    assert "KeyboardInterrupt" in clf.cv_results_["fail_reason"][2]
    assert clf.best_index_ in (0, 1)
    assert clf.predict(X).shape == (len(X),)
    # the finished trials are in the storage: a second fit (same space, so the study's record
    # matches; one candidate and the refit are built, before the space would interrupt again)
    # resumes and completes the budget
    resumed = NASClassifier(
        search_space=InterruptingSpace(interrupt_at=3, max_layers=2), n_trials=4, max_epochs=5,
        random_state=0, device="cpu", pruner=None, storage=storage, study_name="interrupted",
    ).fit(X, y)
    assert resumed.n_trials_ == 4
    np.testing.assert_array_equal(
        resumed.cv_results_["mean_test_score"][:2], clf.cv_results_["mean_test_score"][:2]
    )


def test_timeout_stops_without_warning(recwarn):
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(n_trials=500, max_epochs=3, timeout=1.5, random_state=0, device="cpu")
    clf.fit(X, y)
    assert clf.n_trials_ < 500
    assert not [w for w in recwarn if "interrupted" in str(w.message)]
