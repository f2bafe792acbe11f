"""Every one-shot strategy searches the DARTS space end to end: supernet, trial, refit, load."""

from __future__ import annotations

import numpy as np
import pytest

import sknas
from sknas import NASClassifier
from sknas.oneshot import GDAS, ONESHOT_STRATEGIES
from sknas.spaces import DARTSSpace
from tests.oneshot.conftest import small_strategy

# one (reduction) cell of 4 channels searched; the refit stacks 3 cells of 4 channels
SPACE = DARTSSpace(channels=4, cells=1, final_cells=3)


@pytest.mark.parametrize("name", sorted(ONESHOT_STRATEGIES))
def test_every_oneshot_strategy_searches_darts_cells_and_survives_save_load(
    name, images, tmp_path
):
    X, y = images
    model = NASClassifier(
        strategy=small_strategy(name), search_space=SPACE, max_epochs=1, random_state=0,
    ).fit(X, y)
    assert model.cv_results_["state"][0] == "COMPLETE"
    trial = model.study_.trials[0]
    assert trial.user_attrs["oneshot_strategy"] == name
    arch = model.best_architecture_
    assert arch == SPACE.decode(trial.params) and arch.space == "darts"
    for cell in ("normal", "reduce"):  # DARTS' derivation: two distinct inputs per node
        for node in range(2, 6):
            assert len({trial.params[f"{cell}_{node}_{k}_input"] for k in (0, 1)}) == 2
    assert np.asarray(model.arch_history_[0]["weights"]).shape == (28, 8)
    assert len(model.best_estimator_.module_.inner.cells) == 3  # transferred to the refit stack
    loaded = sknas.load(model.save(tmp_path / "m.zip"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_search_space_by_name_with_a_oneshot_strategy(images):
    X, y = images
    model = NASClassifier(
        strategy=GDAS(epochs=1), search_space="darts", max_epochs=1, random_state=0
    ).fit(X, y)
    assert model.search_space_.image_shape == (1, 8, 8)
    assert model.best_architecture_.space == "darts"
    assert model.study_.trials[0].user_attrs["oneshot_strategy"] == "gdas"
