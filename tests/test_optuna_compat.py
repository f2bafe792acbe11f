"""What sknas relies on in Optuna's internals, checked against the installed Optuna.

Each test covers one wrapper of :mod:`sknas._optuna_compat` (or one behaviour
of a public call that sknas depends on); a change in Optuna fails here first.
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import InMemoryStorage, JournalStorage, RDBStorage, fail_stale_trials
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from packaging.requirements import Requirement
from packaging.version import Version

from sknas import _optuna_compat as compat

ROOT = Path(__file__).resolve().parents[1]


def _optuna_requirement() -> Requirement:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (spec,) = [r for r in project["dependencies"] if Requirement(r).name == "optuna"]
    return Requirement(spec)


def test_installed_optuna_is_in_the_declared_and_tested_range():
    installed = Version(optuna.__version__)
    requirement = _optuna_requirement()
    assert installed in requirement.specifier, (installed, requirement)
    low, high = compat.SUPPORTED_OPTUNA
    assert low <= installed.major < high
    # pyproject's bounds are the ones the compat module declares.
    assert Version(f"{low}.0") in requirement.specifier
    assert Version(f"{high}.0") not in requirement.specifier
    assert Version(f"{high - 1}.99") in requirement.specifier


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'compat.db'}"


def test_storage_of_reads_the_study_trials(sqlite_url):
    study = optuna.create_study(storage=sqlite_url)
    trial = study.ask()
    storage = compat.storage_of(study)
    assert isinstance(storage, optuna.storages.BaseStorage)
    assert storage.get_trial(compat.trial_id_of(trial)).number == trial.number


def test_trial_id_is_the_same_for_a_trial_and_its_frozen_copy(sqlite_url):
    study = optuna.create_study(storage=sqlite_url)
    first, second = study.ask(), study.ask()
    frozen = {t.number: t for t in study.get_trials(deepcopy=False)}
    assert compat.trial_id_of(first) == compat.trial_id_of(frozen[first.number])
    assert compat.trial_id_of(first) != compat.trial_id_of(second)


def test_heartbeat_enabled_only_for_rdb_with_an_interval(sqlite_url, tmp_path):
    with_beat = RDBStorage(sqlite_url, heartbeat_interval=1, grace_period=2)
    assert compat.heartbeat_enabled(optuna.create_study(storage=with_beat))
    assert not compat.heartbeat_enabled(optuna.create_study(storage=RDBStorage(sqlite_url)))
    assert not compat.heartbeat_enabled(optuna.create_study(storage=InMemoryStorage()))
    journal = JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    assert not compat.heartbeat_enabled(optuna.create_study(storage=journal))


def test_heartbeat_makes_a_trial_stale_only_once_it_beat(sqlite_url):
    storage = RDBStorage(sqlite_url, heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(storage=storage)
    with pytest.warns(UserWarning, match="Heartbeat"):
        beaten, silent = study.ask(), study.ask()
    with compat.heartbeat(study, beaten):
        pass
    time.sleep(2.5)  # past the grace period
    fail_stale_trials(study)
    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    assert states[beaten.number] == TrialState.FAIL
    # A trial that never beat is never stale: sknas's wait handles it itself.
    assert states[silent.number] == TrialState.RUNNING


def test_heartbeat_without_heartbeat_storage_is_a_no_op():
    study = optuna.create_study()
    trial = study.ask()
    with compat.heartbeat(study, trial):
        pass
    assert study.get_trials(deepcopy=False)[0].state == TrialState.RUNNING


def test_journal_file_path(tmp_path):
    path = str(tmp_path / "search.journal")
    assert compat.journal_file_path(JournalStorage(JournalFileBackend(path))) == path
    assert compat.journal_file_path(InMemoryStorage()) is None


def test_study_identity_is_shared_by_objects_of_one_study(sqlite_url):
    storage = RDBStorage(sqlite_url)
    a = optuna.create_study(storage=storage, study_name="a")
    b = optuna.create_study(storage=storage, study_name="b")
    again = optuna.load_study(study_name="a", storage=storage)
    assert compat.study_identity(a)[1:] == compat.study_identity(again)[1:]
    assert compat.study_identity(a) != compat.study_identity(b)


def test_cached_trials_lists_every_trial():
    study = optuna.create_study()
    study.ask()
    study.enqueue_trial({"x": 1.0})
    assert [t.number for t in compat.cached_trials(study)] == [0, 1]


def test_trial_attributes_written_through_the_storage(sqlite_url):
    study = optuna.create_study(storage=sqlite_url)
    trial = study.ask()
    frozen = study.get_trials(deepcopy=False)[0]
    compat.set_trial_system_attr(study, frozen, "episode", [2, True])
    compat.set_trial_user_attr(study, frozen, "why", "because")
    again = optuna.load_study(study_name=study.study_name, storage=sqlite_url)
    stored = again.get_trials(deepcopy=False)[0]
    assert stored.system_attrs["episode"] == [2, True]
    assert stored.user_attrs["why"] == "because"
    assert stored.number == trial.number


def test_public_calls_sknas_relies_on(sqlite_url):
    """``tell`` by number from another Study object, and the error for finished trials."""
    study = optuna.create_study(storage=sqlite_url)
    trial = study.ask()
    other = optuna.load_study(study_name=study.study_name, storage=sqlite_url)
    other.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
    other.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)  # no error twice
    assert study.get_trials(deepcopy=False)[0].state == TrialState.FAIL
    with pytest.raises(RuntimeError):  # UpdateFinishedTrialError, caught as RuntimeError
        trial.set_user_attr("late", 1)


def test_distribution_contains():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    choices = CategoricalDistribution(["relu", 16, True])
    assert compat.distribution_contains(choices, "relu")
    assert compat.distribution_contains(choices, 16)
    assert not compat.distribution_contains(choices, "gelu")  # not representable: False
    assert compat.distribution_contains(FloatDistribution(0.1, 1.0, log=True), 0.5)
    assert not compat.distribution_contains(FloatDistribution(0.1, 1.0), 2.0)
    assert not compat.distribution_contains(IntDistribution(1, 3), 4)


def test_stoppable_lets_a_callback_stop_the_study():
    from sknas._optuna_compat import stop_requested, stoppable

    study = optuna.create_study()
    with pytest.raises(RuntimeError):
        study.stop()  # outside an optimize loop, Optuna refuses
    with stoppable(study):
        assert not stop_requested(study)
        study.stop()
        assert stop_requested(study)
    with pytest.raises(RuntimeError):
        study.stop()


def test_pareto_mask_keeps_the_non_dominated_rows():
    import numpy as np

    from sknas._optuna_compat import pareto_mask

    values = np.array([[1.0, 3.0], [2.0, 2.0], [2.0, 3.0], [3.0, 1.0], [1.0, 3.0]])
    assert pareto_mask(values).tolist() == [True, True, False, True, True]
    assert pareto_mask(np.zeros((0, 2))).tolist() == []


def test_hypervolume_of_two_points_is_the_union_of_their_boxes():
    import numpy as np

    from sknas._optuna_compat import hypervolume

    points = np.array([[0.0, 0.5], [0.5, 0.0], [2.0, 2.0]])  # the last is beyond the reference
    assert hypervolume(points, np.array([1.0, 1.0])) == 0.75
    assert hypervolume(points[2:], np.array([1.0, 1.0])) == 0.0
