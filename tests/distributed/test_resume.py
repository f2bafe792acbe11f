"""Resuming a stored study: checked before any training, and never an endless wait."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sklearn.datasets import make_classification

from sknas import NASClassifier, NASRegressor
from sknas.estimators._waiting import wait_for_running_trials
from sknas.spaces import MLPSpace

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(max_epochs=1, patience=1, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=60, n_features=30, n_informative=5, random_state=0)
    return X, y


@pytest.fixture
def stored(tmp_path, data):
    """A sqlite URL holding the study 's' of a finished 2-trial classifier search."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    NASClassifier(n_trials=2, storage=url, study_name="s", **TINY).fit(*data)
    return url


def _n_trials(url: str) -> int:
    return len(optuna.load_study(study_name="s", storage=url).trials)


def test_same_data_resumes_and_adds_trials(stored, data):
    clf = NASClassifier(n_trials=3, storage=stored, study_name="s", **TINY).fit(*data)
    assert clf.n_trials_ == 3 == _n_trials(stored)


@pytest.mark.parametrize(
    "change, differs",
    [
        (lambda X, y: (NASClassifier, X[:, :9], y, {}), ["n_features: the study has 30"]),
        (lambda X, y: (NASRegressor, X, y.astype(float), {}),
         ["task: the study has classification", "estimator: the study has NASClassifier"]),
        (lambda X, y: (NASClassifier, X, y, {"search_space": MLPSpace(max_layers=1, widths=(8,))}),
         ["search_space.params.widths", "search_space.params.max_layers"]),
        (lambda X, y: (NASClassifier, X[::-1].copy(), y[::-1].copy(), {}),
         ["data: the training data differ"]),
    ],
    ids=["new-features", "regressor-on-classifier", "other-space", "same-shape-other-data"],
)
def test_a_study_built_for_another_search_is_refused_before_training(
    stored, data, change, differs, monkeypatch
):
    cls, X, y, params = change(*data)
    trained = []
    monkeypatch.setattr(
        "sknas.evaluation.training.TrainingEvaluator.evaluate",
        lambda *a, **k: trained.append(1),
    )
    estimator = cls(n_trials=4, storage=stored, study_name="s", **TINY, **params)
    with pytest.raises(ValueError) as info:
        estimator.fit(X, y)
    message = str(info.value)
    assert "'s'" in message and stored in message
    for part in differs:
        assert part in message
    assert not trained and _n_trials(stored) == 2


def test_a_plain_optuna_study_is_resumed_only_when_empty(tmp_path, data):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    optuna.create_study(storage=url, study_name="empty", direction="maximize")
    NASClassifier(n_trials=1, storage=url, study_name="empty", **TINY).fit(*data)
    # An empty study made for the opposite direction would minimise the score: refused.
    optuna.create_study(storage=url, study_name="minimising")
    with pytest.raises(ValueError, match="optimises \\['minimize'\\].*needs \\['maximize'\\]"):
        NASClassifier(n_trials=1, storage=url, study_name="minimising", **TINY).fit(*data)
    plain = optuna.create_study(storage=url, study_name="plain")
    plain.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(ValueError, match="not created by sknas"):
        NASClassifier(n_trials=2, storage=url, study_name="plain", **TINY).fit(*data)


def test_password_is_hidden_in_messages():
    clf = NASClassifier(n_trials=1, storage="postgresql://alice:S3cretPassw0rd@127.0.0.1:1/db")
    with pytest.raises(ValueError) as info:
        clf.fit(*make_classification(n_samples=20, n_features=4, random_state=0))
    assert "S3cretPassw0rd" not in str(info.value)
    assert "postgresql://alice:***@127.0.0.1:1/db" in str(info.value)


def test_unopenable_storage_is_named(data):
    url = "sqlite:////nonexistent/dir/x.db"
    with pytest.raises(ValueError, match="Could not open the Optuna storage 'sqlite:////nonexistent"):
        NASClassifier(n_trials=1, storage=url, **TINY).fit(*data)


def test_study_name_without_storage_warns(data):
    with pytest.warns(UserWarning, match="study_name='x' is ignored without a storage"):
        NASClassifier(n_trials=1, study_name="x", **TINY).fit(*data)


HANG = """
import sys, numpy as np, optuna
from optuna.storages import RDBStorage
from sklearn.datasets import make_classification
from sknas import NASClassifier
from sknas.spaces import MLPSpace
X, y = make_classification(n_samples=60, n_features=8, random_state=0)
url = sys.argv[1]
fast = dict(max_epochs=2, random_state=0, device="cpu", study_name="s")
NASClassifier(n_trials=2, storage=url, **fast).fit(X, y)
try:
    NASClassifier(n_trials=3, search_space=MLPSpace(max_layers=1, widths=(8,)), storage=url,
                  **fast).fit(X, y)
except ValueError as exc:
    print("refused:", str(exc)[:60])
# A process that stopped between ask and training leaves a trial that never beat.
optuna.load_study(study_name="s", storage=url).ask()
storage = RDBStorage(url, heartbeat_interval=1, grace_period=2)
clf = NASClassifier(n_trials=4, storage=storage, **fast).fit(X, y)
print("done", clf.n_trials_, sorted(clf.cv_results_["state"]))
"""


def test_resume_after_a_crashed_fit_ends(tmp_path):
    """Issue reproduction: fit, a fit on another space, a fit that must not wait forever."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(HANG), url],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused: The study 's'" in done.stdout
    assert "done 4" in done.stdout
    study = optuna.load_study(study_name="s", storage=url)
    assert not study.get_trials(states=(TrialState.RUNNING,))
    reasons = [t.user_attrs.get("fail_reason", "") for t in study.trials]
    assert sum("without a heartbeat" in reason for reason in reasons) == 1


def test_wait_without_heartbeat_is_bounded(tmp_path):
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    study = optuna.create_study(storage=storage)
    stuck = study.ask()  # on another machine, say: no heartbeat, no pid to check
    with pytest.warns(RuntimeWarning, match=r"Stopped waiting for trials \[0\]"):
        left = wait_for_running_trials(study, stall_limit=0.3, poll=0.05)
    assert left == [stuck.number]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.tell(stuck, 1.0)
        assert wait_for_running_trials(study, stall_limit=0.3, poll=0.05) == []


def test_wait_without_heartbeat_ends_at_the_deadline(tmp_path):
    import time

    storage = JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    study = optuna.create_study(storage=storage)
    study.ask()
    with pytest.warns(RuntimeWarning, match="Stopped waiting"):
        assert wait_for_running_trials(study, deadline=time.time(), poll=0.05) == [0]
