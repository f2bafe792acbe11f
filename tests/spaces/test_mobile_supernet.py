"""The mobile space's supernet: exact under one-hot choices, latency cost, one-shot search."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import sknas
from sknas import NASClassifier
from sknas.oneshot import FBNet, ProxylessNAS
from sknas.oneshot.costs import expected_cost
from sknas.oneshot.mixers import MIXERS, BinaryGateMixer, make_mixer
from sknas.spaces import MobileSpace
from sknas.spaces._mobile_supernet import SKIP, MobileSupernet, discrete_state_dict
from sknas.utils._threads import torch_threads

SMALL = dict(channels=((8,), (8, 16)), max_blocks=2, kernel_sizes=(3, 5), expansions=(1, 3),
             head_channels=16, dropout=0.0)
LAYOUTS = list(itertools.product(("stage", "block"), ("blocks", "skip")))


def _space(granularity: str = "stage", depth: str = "blocks", **kwargs) -> MobileSpace:
    return MobileSpace(image_shape=(1, 8, 8), granularity=granularity, depth=depth,
                       **{**SMALL, **kwargs})


def _one_hot(net: MobileSupernet, indices: list[int], mixer: str) -> None:
    if mixer == "fixed":
        net.set_fixed(indices)
        return
    with torch.no_grad():  # sigmoid(-inf) = 0, softmax / Gumbel over -inf logits: one-hot
        net.alphas.fill_(-float("inf"))
        for e, k in enumerate(indices):
            net.alphas[e, k] = float("inf") if mixer == "sigmoid" else 0.0


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.mark.parametrize(("granularity", "depth"), LAYOUTS)
def test_one_hot_supernet_equals_the_discrete_network(granularity, depth):
    space = _space(granularity, depth)
    rng = np.random.default_rng(len(granularity) + len(depth))
    torch.manual_seed(0)
    net = space.build_supernet(64, 3, make_mixer("softmax"))
    with torch.no_grad():  # move weights and batch-norm statistics off their defaults
        for value in net.state_dict().values():
            if value.is_floating_point() and value.ndim:
                value.add_(0.1 * torch.randn_like(value))
    for mixer in ("softmax", "gumbel_hard", "sigmoid", "fixed"):
        net.mixer = make_mixer("softmax" if mixer == "fixed" else mixer)
        net.clear_fixed()
        indices = [int(rng.integers(len(c))) for c in net.choices]
        arch = space.decode(net.to_params(indices))
        discrete = space.build_module(arch, 64, 3)
        discrete.load_state_dict(discrete_state_dict(net, indices), strict=True)
        _one_hot(net, indices, mixer)
        x = torch.randn(6, 64)
        for training in (False, True):
            net.train(training)
            discrete.train(training)
            with torch.no_grad():
                got, expected = net(x), discrete(x)
            np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5, rtol=0)
        assert net.argmax_indices() == indices


@pytest.mark.parametrize(("granularity", "depth"), LAYOUTS)
def test_edges_map_to_the_spaces_parameters(granularity, depth):
    space = _space(granularity, depth)
    net = space.build_supernet(64, 3, make_mixer("softmax"))
    dists = space.distributions()
    fixed = space.supernet_params()
    shapes = {n for n in dists if n == "width_mult" or n.endswith(("_channels", "_act"))}
    assert set(fixed) == shapes
    for indices in itertools.islice(itertools.product(*[range(len(c)) for c in net.choices]),
                                    0, None, 97):
        params = net.to_params(list(indices))
        assert set(params) == set(dists)
        assert all(params[n] in dists[n].choices for n in dists)
        assert {n: params[n] for n in fixed} == fixed
        assert net.indices_of(params) == list(indices)
    kinds = {(granularity, depth): [len(c) for c in net.choices]}
    n_joint = 2 * 2 * 2
    if granularity == "block" and depth == "skip":  # FBNet: the skip is a block's choice
        assert kinds[granularity, depth] == [n_joint, n_joint + 1, n_joint, n_joint + 1]
        assert net.choices[1][-1] == SKIP
    elif granularity == "stage":
        assert kinds[granularity, depth] == [n_joint, 2, n_joint, 2]
    else:
        assert kinds[granularity, depth] == [n_joint, n_joint, 2, n_joint, n_joint, 2]


def test_every_mixer_trains_the_architecture_with_padded_rows():
    torch.manual_seed(0)
    net = _space("block", "skip").build_supernet(64, 3, make_mixer("softmax"))
    net.train()
    x = torch.randn(6, 64)
    for mixer in sorted(set(MIXERS) - {"partial_channel"}):
        net.mixer = make_mixer(mixer)
        if isinstance(net.mixer, BinaryGateMixer):
            net.mixer.arch_step = True
        net.zero_grad()
        out = net(x)
        assert out.shape == (6, 3) and torch.isfinite(out).all()
        torch.nn.functional.cross_entropy(out, torch.arange(6) % 3).backward()
        grad = net.alphas.grad
        if mixer == "uniform":
            assert grad is None or not grad.any(), mixer
        else:
            assert grad is not None and grad.abs().sum() > 0, mixer
            assert not grad[0, -1], mixer  # padding beyond a row's choices is never used
        probs = net.probabilities()  # rows of 8 choices end in a zero column
        assert probs[0, -1] == 0 and probs[1, -1] > 0


def test_partial_channels_are_refused_with_what_to_use():
    with pytest.raises(ValueError, match="partial_channel.*proxyless"):
        _space().build_supernet(64, 3, make_mixer("partial_channel"))


def _fake_latency(module, shape, **_):
    """A deterministic 'latency': parameters plus input size (stands in for timing)."""
    return float(sum(p.numel() for p in module.parameters()) + np.prod(shape)) / 1000


@pytest.mark.parametrize(("granularity", "depth"), LAYOUTS)
def test_latency_cost_is_the_lookup_table_of_the_derived_network(granularity, depth,
                                                                 monkeypatch):
    import sknas.spaces._mobile_latency as mobile_latency

    monkeypatch.setattr(mobile_latency, "measure_latency", _fake_latency)
    space = _space(granularity, depth)
    net = space.build_supernet(64, 3, make_mixer("softmax"))
    uniform = expected_cost(net)  # the strategies' entry point uses the supernet's own cost
    uniform.backward()
    assert 0 < float(uniform.detach()) < 1 and net.alphas.grad.abs().sum() > 0
    rng = np.random.default_rng(1)
    for _ in range(3):
        indices = [int(rng.integers(len(c))) for c in net.choices]
        _one_hot(net, indices, "softmax")
        arch = space.decode(net.to_params(indices))
        table = sum(_fake_latency(m, s) for _, m, s in space.latency_blocks(arch, 64, 3))
        slowest = mobile_latency.latency_table(net)["slowest"]
        assert float(net.expected_cost().detach()) * slowest == pytest.approx(table, rel=1e-6)


def test_measured_latency_table_prices_bigger_blocks_higher():
    net = _space("block", "skip", expansions=(1, 6), kernel_sizes=(3,),
                 channels=((32,), (64,))).build_supernet(64, 3, make_mixer("gumbel"))
    from sknas.spaces._mobile_latency import latency_table

    table = latency_table(net)
    slot = table["slots"][1][1]  # (k3, e1), (k3, e1, se), (k3, e6), (k3, e6, se), skip
    assert slot[-1] == 0 and float(slot[2]) > float(slot[0]) > 0


@pytest.fixture(scope="module")
def digits_images():
    X, y = load_digits(return_X_y=True)
    keep = np.random.default_rng(0).choice(len(X), size=64, replace=False)
    return (X[keep] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32), y[keep]


@pytest.mark.parametrize(("strategy", "granularity", "depth"), [
    (ProxylessNAS(epochs=2, batch_size=32), "stage", "blocks"),
    (FBNet(epochs=1, batch_size=32), "block", "skip"),
])
def test_proxyless_and_fbnet_search_the_mobile_space_end_to_end(
    strategy, granularity, depth, digits_images, tmp_path
):
    X, y = digits_images
    space = MobileSpace(granularity=granularity, depth=depth, **SMALL)
    model = NASClassifier(search_space=space, strategy=strategy, max_epochs=1,
                          random_state=0).fit(X, y)
    assert model.n_trials_ == 1
    trial = model.study_.trials[0]
    assert trial.user_attrs["oneshot_strategy"] == strategy.name
    assert "initial" not in trial.user_attrs  # the derived network, not the first candidate
    assert model.best_architecture_ == model.search_space_.decode(trial.params)
    history = model.arch_history_
    assert np.asarray(history[-1]["weights"]).shape[0] == len(
        model.search_space_.build_supernet(64, 10, make_mixer("softmax")).choices
    )
    loaded = sknas.load(model.save(tmp_path / "m.zip"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_the_latency_term_moves_the_search_to_faster_blocks(digits_images, monkeypatch):
    import sknas.spaces._mobile_latency as mobile_latency

    monkeypatch.setattr(mobile_latency, "measure_latency", _fake_latency)
    X, y = digits_images
    space = MobileSpace(image_shape=(1, 8, 8), **SMALL)
    weights = {}
    for cost in (0.0, 50.0):
        model = NASClassifier(
            search_space=space, max_epochs=1, random_state=0,
            strategy=ProxylessNAS(epochs=3, batch_size=16, options={"cost_weight": cost}),
        ).fit(X, y)
        weights[cost] = np.asarray(model.arch_history_[-1]["weights"])
    # stage depth rows (1 or 2 blocks): a heavy latency term prefers one block
    for row in (1, 3):
        assert weights[50.0][row, 0] > max(0.6, weights[0.0][row, 0] + 0.02)


def test_every_other_one_shot_method_derives_a_network_of_the_space(digits_images):
    from sknas.oneshot import ONESHOT_STRATEGIES
    from sknas.oneshot.base import SearchData

    X, y = digits_images
    space = _space("block", "skip")
    data = SearchData(X_train=X[:16].reshape(16, -1), y_train=y[:16],
                      X_valid=X[16:32].reshape(16, -1), y_valid=y[16:32], n_outputs=10)
    options = {"rsws": {"n_samples": 3}, "enas": {"n_samples": 3, "controller_steps": 2},
               "robust_darts": {"power_iterations": 2}}
    for name, cls in sorted(ONESHOT_STRATEGIES.items()):
        if name in ("pc_darts", "proxyless", "fbnet"):  # refused / tested above
            continue
        result = cls(epochs=1, batch_size=16, options=options.get(name)).search(space, data)
        arch = space.decode(result.candidates[0])
        assert arch.key() and len(result.history) == 1, name


def test_mnist_sized_images_are_reduced_like_the_discrete_network():
    space = MobileSpace(image_shape=(1, 28, 28), granularity="block", depth="skip", **SMALL)
    torch.manual_seed(0)
    net = space.build_supernet(28 * 28, 10, make_mixer("gumbel"))
    indices = [len(c) - 1 for c in net.choices]  # the last choice: skip where allowed
    arch = space.decode(net.to_params(indices))
    discrete = space.build_module(arch, 28 * 28, 10)
    discrete.load_state_dict(discrete_state_dict(net, indices), strict=True)
    net.set_fixed(indices)
    x = torch.randn(3, 28 * 28)
    net.eval()
    discrete.eval()
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), discrete(x).numpy(), atol=1e-5, rtol=0)
    assert len(discrete.blocks) == 2  # one block a stage: the others were skipped
