"""MLPSpace: conformance plus what is specific to MLPs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sknas.spaces import MLPSpace
from sknas.testing import SearchSpaceConformance


class TestMLPSpaceConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self):
        return MLPSpace()


def test_unused_widths_do_not_change_the_key():
    space = MLPSpace(max_layers=3)
    arch = space.sample(np.random.default_rng(0))
    params = {**space.to_params(arch), "n_layers": 1}
    a = space.decode({**params, "units_2": 16})
    b = space.decode({**params, "units_2": 512})
    assert a == b
    assert space.layer_widths(a) == [params["units_0"]]


def test_module_follows_the_architecture():
    space = MLPSpace()
    params = space.to_params(space.sample(np.random.default_rng(0)))
    params.update(n_layers=2, units_0=32, units_1=16, norm="batch", residual=True, dropout=0.0)
    module = space.build_module(space.decode(params), 5, 2)
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    shapes = [tuple(m.weight.shape) for m in linears]
    # two blocks (each with a projection for the skip path) and the head
    assert (32, 5) in shapes and (16, 32) in shapes and (2, 16) in shapes
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in module.modules())
    assert "2 hidden layers [32-16]" in str(space.decode(params))


def test_training_config():
    space = MLPSpace(batch_sizes=(64,), optimizers=("sgd",))
    arch = space.sample(np.random.default_rng(3))
    config = space.training_config(arch)
    assert config["batch_size"] == 64 and config["optimizer"] == "sgd"
    assert 1e-4 <= config["lr"] <= 3e-2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_layers": 0}, "max_layers"),
        ({"activations": ("relu", "swishy")}, "swishy"),
        ({"widths": ()}, "widths"),
        ({"lr_range": (0.1, 0.01)}, "lr_range"),
    ],
)
def test_bad_configuration_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPSpace(**kwargs).distributions()


def test_initial_params_stay_inside_the_space():
    space = MLPSpace()
    (params,) = space.initial_params()
    assert "2 hidden layers [256-256], relu" in str(space.decode(params))
    narrow = MLPSpace(max_layers=1, widths=(8, 300), batch_sizes=(32,), lr_range=(1e-2, 3e-2),
                      activations=("tanh",), optimizers=("sgd",))
    (params,) = narrow.initial_params()
    narrow.check_params(params)
    assert params["units_0"] == 300 and params["batch_size"] == 32 and params["lr"] == 1e-2
    assert params["activation"] == "tanh" and params["optimizer"] == "sgd"
