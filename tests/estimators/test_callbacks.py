"""The callbacks parameter: Optuna trial callbacks and skorch callbacks."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
from sklearn.datasets import make_classification
from skorch.callbacks import Callback, EarlyStopping

from sknas import NASClassifier, NASRegressor

TINY = dict(max_epochs=2, patience=2, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=80, n_features=4, random_state=0)


class LogTrainingStart(Callback):
    """Appends ``pid`` to a file each time a net starts training."""

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, net, **kwargs):
        with open(self.path, "a") as file:
            file.write(f"{os.getpid()}\n")


def test_trial_callback_stops_the_search_when_a_score_is_reached(data):
    X, y = data

    def stop_when_good(study, trial):
        if study.best_value >= 0.0:  # any completed candidate reaches it
            study.stop()

    clf = NASClassifier(n_trials=6, callbacks=[stop_when_good], **TINY).fit(X, y)
    assert clf.n_trials_ == 1


def test_trial_callback_logs_every_trial(data, tmp_path):
    X, y = data
    log = tmp_path / "trials.csv"

    def write_row(study, trial):
        with open(log, "a", newline="") as file:
            csv.writer(file).writerow([trial.number, trial.state.name, trial.value])

    clf = NASClassifier(n_trials=3, callbacks=[write_row], **TINY).fit(X, y)
    rows = list(csv.reader(open(log)))
    assert [int(r[0]) for r in rows] == list(range(clf.n_trials_)) == [0, 1, 2]


def test_skorch_callback_runs_in_every_candidate_and_the_refit(data, tmp_path):
    X, y = data
    path = tmp_path / "starts.txt"
    callback = LogTrainingStart(str(path))
    reg = NASRegressor(n_trials=2, callbacks=[callback], **TINY).fit(X, y.astype(float))
    trained = sum("duplicate_of" not in t.user_attrs for t in reg.study_.trials)
    assert len(path.read_text().split()) == trained + 1  # one net per candidate, one refit
    names = [name for name, _ in reg.best_estimator_.callbacks_]
    assert "user_0_LogTrainingStart" in names
    assert reg.get_params()["callbacks"][0] is callback  # copies went into the nets


def test_skorch_callbacks_and_weights_travel_to_workers_spread_over_devices(data, tmp_path):
    X, y = data
    path = tmp_path / "starts.txt"
    clf = NASClassifier(
        n_trials=3,
        n_jobs=2,
        callbacks=[LogTrainingStart(str(path))],
        **{**TINY, "device": ["cpu", "cpu"]},
    )
    clf.fit(X, y, sample_weight=np.arange(len(y)) % 3 + 1.0)
    assert (clf.cv_results_["state"] == "COMPLETE").all()
    assert len(path.read_text().split()) >= clf.n_trials_ + 1


@pytest.mark.parametrize(
    ("callbacks", "error", "message"),
    [
        ([42], TypeError, "neither a skorch"),
        ([LogTrainingStart], TypeError, "pass an instance"),
        ([EarlyStopping()], TypeError, "patience"),
        ([lambda study, trial: None], ValueError, "n_jobs=1"),
        ("not a list", ValueError, "callbacks"),
    ],
)
def test_bad_callbacks_are_refused(data, callbacks, error, message):
    X, y = data
    clf = NASClassifier(n_trials=1, callbacks=callbacks, n_jobs=2, **TINY)
    with pytest.raises(error, match=message):
        clf.fit(X, y)
