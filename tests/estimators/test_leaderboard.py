"""``leaderboard()``: the candidates of a search as a DataFrame."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

import sknas
from sknas import NASRegressor


def test_leaderboard_is_sorted_by_rank_with_readable_architectures(tiny_search):
    board = tiny_search.leaderboard()
    assert list(board.columns) == [
        "rank", "score", "score_std", "n_parameters", "fit_time", "epochs", "state",
        "architecture", "fail_reason",
    ]
    assert len(board) == tiny_search.n_trials_
    assert board.index.name == "trial"
    assert np.all(np.diff(board["rank"].to_numpy()) >= 0)
    top = board.iloc[0]
    assert top["score"] == pytest.approx(tiny_search.best_score_)
    assert top["architecture"] == str(tiny_search.best_architecture_)
    assert "hidden layer" in top["architecture"]
    results = tiny_search.cv_results_
    row = int(np.flatnonzero(results["trial_number"] == board.index[0])[0])
    assert top["n_parameters"] == results["n_parameters"][row] > 0
    assert top["epochs"] == results["n_epochs"][row]
    assert top["fit_time"] > 0
    assert set(board["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}


def test_leaderboard_of_a_loaded_model(tiny_search, tmp_path):
    model = sknas.load(tiny_search.save(tmp_path / "model.sknas"))
    board, original = model.leaderboard(), tiny_search.leaderboard()
    assert board["architecture"].tolist() == original["architecture"].tolist()
    np.testing.assert_array_equal(board["score"], original["score"])


def test_leaderboard_can_drop_unfinished_candidates(tiny_search):
    board = tiny_search.leaderboard(include_failed=False)
    assert set(board["state"]) == {"COMPLETE"}


def test_leaderboard_lists_failed_candidates_last():
    from sknas.estimators._leaderboard import leaderboard

    class Fake(BaseEstimator):  # the fitted attributes leaderboard() reads, with a failed candidate
        search_space_ = sknas.spaces.MLPSpace(max_layers=1, widths=(8,))
        cv_results_ = {
            "rank_test_score": np.array([2, 1]), "mean_test_score": np.array([np.nan, 0.5]),
            "std_test_score": np.zeros(2), "mean_test_latency": np.array([1.0, 2.0]),
            "n_parameters": np.array([-1, 10]), "mean_fit_time": np.array([0.1, 0.2]),
            "n_epochs": np.array([0, 3]), "state": np.array(["FAIL", "COMPLETE"], dtype=object),
            "params": [{"n_layers": 1}, {}], "fail_reason": np.array(["boom", ""], dtype=object),
            "trial_number": np.array([0, 1]),
        }

        def fit(self):  # check_is_fitted wants an estimator
            return self

    board = leaderboard(Fake())
    assert board.index.tolist() == [1, 0]
    assert board.loc[0, "fail_reason"] == "boom"
    assert board.loc[0, "architecture"] == "n_layers=1"  # partial parameters do not decode
    assert board["score_latency"].tolist() == [2.0, 1.0]  # further objectives get a column


def test_leaderboard_requires_a_fit():
    with pytest.raises(NotFittedError):
        NASRegressor().leaderboard()
