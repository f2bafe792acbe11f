"""The search job published for ``sknas worker`` is data (arrays and JSON), never a pickle."""

from __future__ import annotations

import base64
import io
import json
import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.datasets import make_classification

from sknas import NASClassifier
from sknas.estimators._job import (
    ARRAYS_ATTR,
    CONFIG_ATTR,
    JobPayloadError,
    fetch_job,
)
from sknas.spaces import MLPSpace, NB201Space
from sknas.spaces._description import describe_space, rebuild_space
from sknas.utils.preprocessing import transform_table

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(max_epochs=1, patience=1, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """(url, X, y) of a finished 2-trial search whose job is published."""
    url = f"sqlite:///{tmp_path_factory.mktemp('job') / 'job.db'}"
    X, y = make_classification(n_samples=50, n_features=6, random_state=0)
    model = NASClassifier(n_trials=2, storage=url, study_name="s", **TINY).fit(X, y)
    # The job carries the matrix the networks read: X after the fitted preprocessing.
    encoded = transform_table(model.preprocessor_, X, model.missing_values)
    return url, encoded, y


def _attrs(url: str) -> dict:
    return optuna.load_study(study_name="s", storage=url).user_attrs


def _copy_study(url: str, tmp_path: Path, edit) -> optuna.Study:
    """A copy of the published study whose user attributes ``edit`` changes."""
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    optuna.copy_study(from_study_name="s", from_storage=url, to_storage=target)
    study = optuna.load_study(study_name="s", storage=target)
    for key, value in edit(dict(study.user_attrs)).items():
        study.set_user_attr(key, value)
    return study


def test_payload_holds_no_pickle(published):
    url, X, y = published
    attrs = _attrs(url)
    config = json.loads(attrs[CONFIG_ATTR])
    assert config["estimator"] == "NASClassifier"
    assert config["search_space"]["name"] == "mlp"
    assert "storage" not in config["params"] and "study_name" not in config["params"]
    n_chunks = attrs[f"{ARRAYS_ATTR}:chunks"]
    raw = zlib.decompress(base64.b64decode("".join(
        attrs[f"{ARRAYS_ATTR}:{i}"] for i in range(n_chunks)
    )))
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        assert set(archive.files) == {"X", "y", "train_0", "valid_0"}
        np.testing.assert_array_equal(archive["X"], X.astype(np.float32))
    for value in attrs.values():  # no pickle protocol header anywhere
        text = value if isinstance(value, str) else json.dumps(value)
        assert not text.startswith("gASV")  # base64 of b"\x80\x04\x95"


def test_fetch_never_unpickles_and_the_job_works(published, monkeypatch):
    url, X, _ = published

    def refuse(*args, **kwargs):
        raise AssertionError("fetch_job unpickled something")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    study = optuna.load_study(study_name="s", storage=url)
    job = fetch_job(study)
    assert job is not None and job.n_trials == 2 and job.X.shape == X.shape
    assert job.estimator.get_params()["max_epochs"] == 1
    job.n_trials = 3  # one more trial, run as a worker would
    outcome = job.run(study, worker_index=1)
    assert outcome.n_run == 1
    assert study.trials[-1].state == optuna.trial.TrialState.COMPLETE


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda a: {CONFIG_ATTR: a[CONFIG_ATTR].replace("NASClassifier", "os:system")},
         "is not one of"),
        (lambda a: {CONFIG_ATTR: a[CONFIG_ATTR].replace('"max_epochs": 1', '"max_epochs": -1')},
         "invalid estimator parameters"),
        (lambda a: {CONFIG_ATTR: a[CONFIG_ATTR].replace('"sknas.spaces.mlp:MLPSpace"',
                                                        '"os.path:join"')},
         "is registered as"),
        (lambda a: {f"{ARRAYS_ATTR}:0": a[f"{ARRAYS_ATTR}:0"][:-20]}, "malformed"),
        (lambda a: {CONFIG_ATTR: "{not json"}, "malformed"),
        (lambda a: {f"{ARRAYS_ATTR}:0": base64.b64encode(zlib.compress(pickle.dumps(
            {"X": np.zeros((2, 2), dtype=object)}))).decode()}, "malformed"),
    ],
    ids=["estimator", "params", "space", "truncated-arrays", "config", "pickled-arrays"],
)
def test_a_tampered_payload_gives_a_clear_error(published, tmp_path, edit, match):
    study = _copy_study(published[0], tmp_path, edit)
    with pytest.raises(JobPayloadError, match=match):
        fetch_job(study)


def test_out_of_range_split_is_refused(published, tmp_path):
    url, X, y = published

    def edit(attrs):
        buffer = io.BytesIO()
        np.savez(buffer, X=X.astype(np.float32), y=y, train_0=np.arange(10),
                 valid_0=np.array([10_000]))
        blob = base64.b64encode(zlib.compress(buffer.getvalue())).decode()
        return {f"{ARRAYS_ATTR}:0": blob, f"{ARRAYS_ATTR}:chunks": 1}

    with pytest.raises(JobPayloadError, match="split 0"):
        fetch_job(_copy_study(url, tmp_path, edit))


def test_unshareable_search_runs_locally_and_the_worker_says_why(tmp_path):
    url = f"sqlite:///{tmp_path / 'local.db'}"
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    clf = NASClassifier(
        n_trials=2, strategy=optuna.samplers.RandomSampler(seed=0), storage=url,
        study_name="s", **TINY,
    ).fit(X, y)
    assert clf.n_trials_ == 2
    with pytest.raises(JobPayloadError, match=r"\['strategy'\]"):
        fetch_job(optuna.load_study(study_name="s", storage=url))
    done = subprocess.run(
        [sys.executable, "-m", "sknas", "worker", "--storage", url, "--study", "s",
         "--wait", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1
    assert "cannot be shared with workers" in done.stderr and "strategy" in done.stderr


def test_n_jobs_with_an_unshareable_parameter_still_works(tmp_path):
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    clf = NASClassifier(
        n_trials=3, n_jobs=2, strategy=optuna.samplers.RandomSampler(seed=0), **TINY
    ).fit(X, y)
    assert clf.n_trials_ >= 3


@pytest.mark.parametrize(
    "space",
    [MLPSpace(max_layers=1, widths=(8, 16)), NB201Space(channels=8, image_shape=(1, 8, 8))],
    ids=["mlp", "nb201"],
)
def test_space_description_round_trips_through_json(space):
    description = json.loads(json.dumps(describe_space(space)))
    rebuilt = rebuild_space(description)
    assert type(rebuilt) is type(space)
    assert rebuilt.get_params() == space.get_params()
    assert rebuilt.distributions() == space.distributions()


def test_an_unregistered_space_class_is_imported_only_when_allowed():
    description = {**describe_space(MLPSpace()), "name": None}
    with pytest.raises(ValueError, match="not registered"):
        rebuild_space(description)
    path = description["class"]
    assert isinstance(rebuild_space(description, allowed_classes=[path]), MLPSpace)
    with pytest.raises(ValueError, match="not a sknas SearchSpace"):
        rebuild_space({**description, "class": "os.path:join"}, allowed_classes=["os.path:join"])
