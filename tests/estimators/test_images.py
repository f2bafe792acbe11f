"""Image input: NAS-Bench-201 cells searched by the estimators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknas import NASClassifier
from sknas.spaces import MLPSpace, NB201Space

TINY_CELLS = NB201Space(channels=4, cells_per_stage=1)
FAST = dict(n_trials=2, max_epochs=2, patience=2, random_state=0, device="cpu", pruner=None)


@pytest.fixture(scope="module")
def digits_images():
    X, y = load_digits(return_X_y=True)
    return X[:300].reshape(-1, 1, 8, 8), y[:300]


def test_image_arrays_are_searched_with_cells(digits_images):
    X, y = digits_images
    clf = NASClassifier(search_space=TINY_CELLS, **FAST).fit(X, y)
    assert clf.image_shape_ == (1, 8, 8)
    assert clf.search_space_.image_shape == (1, 8, 8)
    assert clf.best_architecture_.space == "nb201"
    assert clf.best_architecture_.key().startswith("|")
    assert clf.predict(X).shape == (len(X),)
    # flat rows of the same images predict the same
    np.testing.assert_allclose(clf.predict_proba(X.reshape(len(X), -1)), clf.predict_proba(X))
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\)"):
        clf.predict(X.reshape(-1, 1, 4, 16))


def test_three_dimensional_batches_are_sequences_not_images(digits_images):
    X, y = digits_images
    grey = X[:, 0]  # (n, 8, 8): 3-D input is a batch of sequences
    clf = NASClassifier(search_space=TINY_CELLS, **{**FAST, "n_trials": 1}).fit(grey[:, None], y)
    assert clf.image_shape_ == (1, 8, 8) and clf.sequence_shape_ is None
    with pytest.raises(ValueError, match=r"sequences of shape \(8, 8\).*fitted on None"):
        clf.predict(grey)


def test_auto_space_follows_the_input(digits_images):
    X, y = digits_images
    assert NASClassifier()._resolve_search_space((1, 8, 8)).name == "nb201"
    assert isinstance(NASClassifier()._resolve_search_space(None), MLPSpace)
    flat = NASClassifier(**{**FAST, "n_trials": 1}).fit(X.reshape(len(X), -1), y)
    assert flat.image_shape_ is None and flat.search_space_.name == "mlp"


def test_flat_rows_with_an_explicit_image_shape(digits_images):
    X, y = digits_images
    space = NB201Space(channels=4, cells_per_stage=1, image_shape=(1, 8, 8))
    clf = NASClassifier(search_space=space, **{**FAST, "n_trials": 1}).fit(X.reshape(len(X), -1), y)
    assert clf.image_shape_ is None
    assert clf.predict(X.reshape(len(X), -1)).shape == (len(X),)
