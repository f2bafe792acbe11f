"""A list of devices: the n_jobs processes spread over them; ``sknas worker --device``."""

from __future__ import annotations

import numpy as np
import pytest

from sknas import NASClassifier
from sknas.__main__ import build_parser, main
from sknas.estimators._workers import assign_devices


def test_processes_are_spread_round_robin():
    assert assign_devices(["cuda:0", "cuda:1"], 5) == [
        "cuda:0",
        "cuda:1",
        "cuda:0",
        "cuda:1",
        "cuda:0",
    ]
    assert assign_devices(["cuda:0", "cuda:1", "cuda:2"], 2) == ["cuda:0", "cuda:1"]
    assert assign_devices(["cpu"], 3) == ["cpu", "cpu", "cpu"]
    with pytest.raises(ValueError, match="At least one device"):
        assign_devices([], 2)


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (["cpu", "cuda:99"], "cuda:99"),
        ([], "non-empty list"),
        (["cpu", 0], "non-empty list"),
        (["cpu", "nonsense"], "torch device"),
    ],
)
def test_bad_device_lists_are_refused_before_training(device, message):
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2
    with pytest.raises(ValueError, match=message):
        NASClassifier(n_trials=1, max_epochs=1, device=device).fit(X, y)


def test_a_list_of_one_device_is_that_device():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2
    clf = NASClassifier(n_trials=1, max_epochs=1, device=["cpu"], random_state=0).fit(X, y)
    assert clf.device_ == "cpu"
    assert clf.get_params()["device"] == ["cpu"]


def test_worker_command_line_takes_a_device(tmp_path, capsys):
    args = build_parser().parse_args(
        ["worker", "--storage", "sqlite:///x.db", "--study", "s", "--device", "cuda:1"]
    )
    assert args.device == "cuda:1"
    assert build_parser().parse_args(["worker", "--storage", "x", "--study", "s"]).device is None
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    code = main(
        ["worker", "--storage", storage, "--study", "s", "--device", "cuda:99", "--wait", "0"]
    )
    assert code == 1
    assert "--device" in capsys.readouterr().err
