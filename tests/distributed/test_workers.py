"""Searches shared by several processes and machines through an Optuna storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sklearn.datasets import load_digits, load_iris

from sknas import NASClassifier
from sknas._optuna_compat import storage_of
from sknas.estimators._job import fetch_job

FAST = dict(max_epochs=8, patience=4, random_state=0, device="cpu")


ROOT = Path(__file__).resolve().parents[2]  # workers import this checkout's sknas


def _worker_command(url: str, study: str) -> list[str]:
    return [
        sys.executable, "-m", "sknas", "worker", "--storage", url, "--study", study,
        "--wait", "120", "--heartbeat-interval", "1", "--grace-period", "4",
    ]


def _kill_first_trial_of(pid: int, url: str, study_name: str, killed: dict, stop: threading.Event):
    """Kill worker ``pid`` with SIGKILL while it is in the middle of a trial."""
    storage = RDBStorage(url)
    while not stop.is_set():
        try:
            study = optuna.load_study(study_name=study_name, storage=storage)
        except KeyError:
            time.sleep(0.1)
            continue
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.user_attrs.get("worker", "").endswith(f":{pid}"):
                time.sleep(0.3)  # let it train a little
                os.kill(pid, signal.SIGKILL)
                killed["trial"] = trial.number
                killed["complete_before"] = {
                    t.number: t.value
                    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                }
                return
        time.sleep(0.05)


def test_search_survives_a_killed_worker(shared_storage_url):
    url = shared_storage_url
    name = f"killed-worker-{uuid.uuid4().hex[:8]}"
    X, y = load_digits(return_X_y=True)
    X, y = X[:800], y[:800]
    workers = [
        subprocess.Popen(
            _worker_command(url, name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=ROOT,
        )
        for _ in range(2)
    ]
    for proc in workers:  # both are up and polling the storage
        assert "waiting for study" in proc.stdout.readline()
    killed: dict = {}
    stop = threading.Event()
    killer = threading.Thread(
        target=_kill_first_trial_of, args=(workers[0].pid, url, name, killed, stop), daemon=True
    )
    killer.start()
    storage = RDBStorage(url, heartbeat_interval=1, grace_period=4)
    clf = NASClassifier(
        n_trials=10, max_epochs=25, patience=25, pruner=None, random_state=0, device="cpu",
        storage=storage, study_name=name,
    )
    try:
        clf.fit(X, y)
    finally:
        stop.set()
        killer.join(timeout=10)
        outputs = []
        for proc in workers:
            try:
                out, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            outputs.append(out)

    assert "trial" in killed, f"worker 0 never ran a trial; outputs: {outputs}"
    assert workers[0].returncode == -signal.SIGKILL
    assert workers[1].returncode == 0, outputs[1]
    study = optuna.load_study(study_name=name, storage=RDBStorage(url))
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) >= 10
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    by_number = {t.number: t for t in trials}
    assert by_number[killed["trial"]].state == TrialState.FAIL
    for number, value in killed["complete_before"].items():
        assert by_number[number].state == TrialState.COMPLETE
        assert by_number[number].value == value
    workers_seen = {t.user_attrs.get("worker", "").rpartition(":")[2] for t in trials}
    assert str(workers[1].pid) in workers_seen  # the surviving worker contributed
    assert clf.n_trials_ == len(trials)
    assert clf.predict(X[:5]).shape == (5,)
    assert clf.score(X, y) > 0.8


def test_job_travels_through_the_storage(shared_storage_url):
    name = f"job-{uuid.uuid4().hex[:8]}"
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(n_trials=2, storage=shared_storage_url, study_name=name, **FAST).fit(X, y)
    job = fetch_job(optuna.load_study(study_name=name, storage=shared_storage_url))
    assert job is not None and job.n_trials == 2
    np.testing.assert_array_equal(job.X, clf.preprocessor_.transform(X).astype(np.float32))
    assert job.estimator.get_params()["max_epochs"] == 8
    assert clf.n_trials_ == 2


def test_worker_without_a_search_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    done = subprocess.run(
        [*_worker_command(url, "missing")[:-6], "--wait", "1"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 1
    assert "no search named 'missing'" in done.stderr


def test_n_jobs_two_local_processes(tmp_path):
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(n_trials=6, n_jobs=2, **FAST).fit(X, y)
    numbers = clf.cv_results_["trial_number"]
    assert sorted(numbers) == list(range(len(numbers))) and len(numbers) >= 6
    assert set(clf.cv_results_["state"]) <= {"COMPLETE", "PRUNED"}
    assert isinstance(storage_of(clf.study_), optuna.storages.InMemoryStorage)
    assert clf.score(X, y) > 0.6


def test_n_jobs_with_in_memory_storage_instance_is_refused():
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(n_trials=2, n_jobs=2, storage=optuna.storages.InMemoryStorage(), **FAST)
    try:
        clf.fit(X, y)
    except ValueError as exc:
        assert "n_jobs=2 needs a storage" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected a ValueError")
