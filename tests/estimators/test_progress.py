"""verbose=1: the progress bar counts the finished trials of every process."""

from __future__ import annotations

import re

import optuna
from optuna.trial import TrialState
from sklearn.datasets import load_iris

from sknas import NASClassifier
from sknas.estimators._progress import ProgressBar


def test_bar_counts_trials_finished_by_other_processes(capsys):
    study = optuna.create_study(direction="maximize")
    # three trials finished elsewhere (a worker): no callback ran for them here
    for value in (0.2, 0.9):
        study.tell(study.ask(), value)
    study.tell(study.ask(), state=TrialState.FAIL)
    running = study.ask()
    bar = ProgressBar(total=6)
    mine = study.tell(study.ask(), 0.5)
    bar(study, mine)
    assert bar.bar.n == 4  # the running trial is not counted
    study.tell(running, state=TrialState.PRUNED)
    bar.sync(study)
    assert bar.bar.n == 5
    bar.close()
    assert "best=0.9000" in capsys.readouterr().err


def test_bar_with_workers_ends_at_every_trial(capsys):
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(
        n_trials=4, max_epochs=1, n_jobs=2, verbose=1, random_state=0, device="cpu"
    ).fit(X, y)
    assert clf.n_trials_ == 4
    counts = re.findall(r"(\d+)/4 ", capsys.readouterr().err)
    assert counts and int(counts[-1]) == 4
