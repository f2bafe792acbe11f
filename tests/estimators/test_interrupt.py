"""Ctrl-C during fit keeps every finished trial and leaves a fitted estimator."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import ShuffleSplit

from sknas import NASClassifier
from sknas.spaces import MLPSpace

#: One hold-out split: a candidate builds one network (small data would get 5 folds).
ONE_HOLD_OUT = ShuffleSplit(n_splits=1, test_size=0.2, random_state=0)


class InterruptingSpace(MLPSpace):
    """Raises KeyboardInterrupt (as Ctrl-C would) when building the n-th candidate."""

    def __init__(self, interrupt_at: int = 3, max_layers: int = 2):
        super().__init__(max_layers=max_layers)
        self.interrupt_at = interrupt_at

    def build_module(self, arch, n_features_in, n_outputs):
        import torch

        if torch.empty(0).device.type == "meta":  # fit's shape check, not a candidate
            return super().build_module(arch, n_features_in, n_outputs)
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
        storage=storage, study_name="interrupted", cv=ONE_HOLD_OUT,  # one build per candidate
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
        cv=ONE_HOLD_OUT,
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


# -- real SIGINTs sent to a search running in another process ----------------------------
CHILD = Path(__file__).with_name("_sigint_child.py")
ROOT = Path(__file__).resolve().parents[2]
WAIT = 120.0  # generous bound on every wait: nothing here may hang CI


class Child:
    """``_sigint_child.py`` running in its own process group."""

    def __init__(self, tmp_path: Path, **config) -> None:
        self.markers = tmp_path / "markers"
        self.markers.mkdir()
        config = {
            "markers": str(self.markers),
            "storage": f"sqlite:///{tmp_path / 'search.db'}",
            "n_trials": 6,
            "n_jobs": 1,
            "at": 2,
            "refit_interrupts": 1,
            **config,
        }
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), json.dumps(config)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def wait_for(self, pattern: str, count: int = 1) -> list[Path]:
        """Wait until ``count`` marker files match ``pattern``."""
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            found = sorted(self.markers.glob(pattern))
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                pytest.fail(f"the search ended before {pattern!r}:\n{self.process.stderr.read()}")
            time.sleep(0.02)
        self.kill()
        pytest.fail(f"no marker {pattern!r} within {WAIT} s")

    def interrupt(self, group: bool = False) -> None:
        """Ctrl-C: SIGINT to the main process, or to its whole group as a terminal sends it."""
        if group:
            os.killpg(self.process.pid, signal.SIGINT)
        else:
            os.kill(self.process.pid, signal.SIGINT)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def summary(self) -> dict:
        """The child's JSON report (fails the test if it does not end in time)."""
        try:
            out, err = self.process.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the search did not stop within {WAIT} s of the interrupt")
        assert self.process.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def child(tmp_path):
    children: list[Child] = []

    def start(**config) -> Child:
        children.append(Child(tmp_path, **config))
        return children[-1]

    yield start
    for started in children:
        started.kill()


def _states(summary: dict) -> list[str]:
    return [t["state"] for t in summary["trials"]]


def _interrupted(summary: dict) -> list[dict]:
    return [t for t in summary["trials"] if "interrupted" in (t["reason"] or "")]


def _assert_stopped_after_two(summary: dict) -> None:
    """Two candidates complete, the third interrupted, no other trial, fitted with a warning."""
    assert summary["raised"] is None
    assert _states(summary) == ["COMPLETE", "COMPLETE", "FAIL"]
    assert "interrupted" in summary["trials"][2]["reason"]
    assert summary["predicts"]
    assert any("interrupted by the user" in w for w in summary["warnings"])


@pytest.mark.parametrize("moment", ["train", "valid", "score", "decode"])
def test_sigint_stops_search_at_that_moment(child, moment):
    # "train": inside a training batch's forward pass (inside skorch's epoch loop);
    # "valid": inside a validation batch's forward pass (skorch's validation step);
    # "score": inside the validation scoring (a skorch callback's on_epoch_end);
    # "decode": between two candidates' trainings, while the next trial is prepared.
    search = child(moment=moment)
    search.wait_for(f"{moment}-*")
    search.interrupt()
    _assert_stopped_after_two(search.summary())


def test_sigint_before_any_completed_trial_raises(child):
    search = child(moment="train", at=0)
    search.wait_for("train-*")
    search.interrupt()
    summary = search.summary()
    assert summary["raised"] == "KeyboardInterrupt"
    assert _states(summary) == ["FAIL"]
    assert "interrupted" in summary["trials"][0]["reason"]
    assert not summary["predicts"]


def test_one_sigint_during_refit_lets_it_finish(child):
    search = child(moment="refit", n_trials=2)
    search.wait_for("refit-0")
    search.interrupt()
    summary = search.summary()
    assert summary["raised"] is None
    assert _states(summary) == ["COMPLETE", "COMPLETE"]
    assert summary["predicts"]
    assert any("after the search had finished" in w for w in summary["warnings"])


def test_second_sigint_during_refit_aborts_it(child):
    search = child(moment="refit", n_trials=2, refit_interrupts=2)
    search.wait_for("refit-0")
    search.interrupt()
    search.wait_for("refit-1")
    search.interrupt()
    summary = search.summary()
    assert summary["raised"] == "KeyboardInterrupt"
    assert not summary["predicts"]
    assert _states(summary) == ["COMPLETE", "COMPLETE"]  # the search results are kept


@pytest.mark.parametrize(
    "group, storage",
    [(True, "sqlite"), (False, "journal")],
    ids=["terminal-ctrl-c", "main-process-only"],
)
def test_sigint_stops_every_worker(child, tmp_path, group, storage):
    url = (
        f"sqlite:///{tmp_path / 'search.db'}"
        if storage == "sqlite"
        else f"journal:{tmp_path / 'search.log'}"
    )
    search = child(moment="train", at=1, n_jobs=2, n_trials=10, storage=url)
    search.wait_for("train-*", count=2)  # the main process and the worker, both mid-epoch
    search.interrupt(group=group)
    summary = search.summary()
    assert summary["raised"] is None
    assert summary["predicts"]
    assert any("interrupted by the user" in w for w in summary["warnings"])
    states = _states(summary)
    assert "RUNNING" not in states
    assert states.count("COMPLETE") >= 2  # each process's first candidate
    interrupted = _interrupted(summary)
    # each process marked its own running trial
    assert len(interrupted) == 2
    assert len({t["worker"] for t in interrupted}) == 2
    assert all(t["state"] == "FAIL" for t in interrupted)
