"""Tests of the mobile (MBConv) search space, its known networks and its latency hook."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch
from sklearn.datasets import load_digits

from sknas import NASClassifier
from sknas._optuna_compat import distribution_contains
from sknas.samplers import make_sampler
from sknas.samplers._registry import strategy_names
from sknas.spaces import MobileSpace
from sknas.spaces._mobile_nets import known_network, resolve_strides
from sknas.testing import SearchSpaceConformance

#: Parameter counts of the reference implementations (torchvision's models) at
#: 224x224 and 1000 classes: external facts.
REFERENCE_PARAMS = {
    "mobilenet_v2": 3_504_872,
    "mnasnet_1_0": 4_383_312,
    "mobilenet_v3_small": 2_542_856,
    "mobilenet_v3_large": 5_483_032,
}
TINY = dict(channels=((8,), (8, 16)), max_blocks=2, head_channels=16, width_multipliers=(1.0,))


class TestMobileSpaceConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self):
        return MobileSpace(**TINY)

    @pytest.fixture
    def module_io(self):
        return 8 * 8, 3


class TestMobileSpacePerBlockConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self):
        return MobileSpace(granularity="block", depth="skip", **{**TINY, "max_blocks": 3})

    @pytest.fixture
    def module_io(self):
        return 3 * 8 * 8, 2


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_known_networks_have_the_reference_parameter_counts(name):
    space = MobileSpace(image_shape=(3, 224, 224))
    with torch.device("meta"):
        module = space.build_module(space.network(name), 3 * 224 * 224, 1000)
    assert abs(_n_params(module) - REFERENCE_PARAMS[name]) <= 0.01 * REFERENCE_PARAMS[name]


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_known_networks_reduce_224_images_to_7x7_in_five_steps(name):
    spec = known_network(name)
    stem, strides = resolve_strides(spec, 224, 224)
    assert stem == 2 and strides.count(2) == 4
    # digits keep one reduction (the last), MNIST two
    assert resolve_strides(spec, 8, 8)[1].count(2) + resolve_strides(spec, 8, 8)[0] == 2
    stem, strides = resolve_strides(spec, 28, 28)
    assert stem == 1 and strides.count(2) == 2


def test_known_network_at_224_and_on_digits():
    space = MobileSpace(image_shape=(3, 224, 224))
    with torch.device("meta"):  # shapes only: nothing is computed
        blocks = space.latency_blocks(space.network("mobilenet_v3_small"), 3 * 224 * 224, 1000)
    assert blocks[0][2] == (3, 224, 224)
    assert blocks[-1][2] == (96, 7, 7)  # the head sees 7x7 maps, as in the reference
    small = MobileSpace()
    for name in REFERENCE_PARAMS:
        arch = small.network(name, width_mult=0.35)
        assert small.decode(small.to_params(arch)) == arch
        out = small.build_module(arch, 64, 10).eval()(torch.zeros(2, 64))
        assert out.shape == (2, 10)


def test_unknown_network_and_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown network 'resnet50'"):
        MobileSpace().network("resnet50")
    with pytest.raises(ValueError, match="width_mult"):
        MobileSpace().network("mobilenet_v2", 0)
    with pytest.raises(ValueError, match="granularity"):
        MobileSpace(granularity="layer").distributions()
    with pytest.raises(ValueError, match="kernel_sizes"):
        MobileSpace(kernel_sizes=(3, 4)).distributions()
    with pytest.raises(ValueError, match="activations"):
        MobileSpace(activations=("gelu",)).distributions()
    with pytest.raises(ValueError, match="channels"):
        MobileSpace(channels=((16,), ())).distributions()
    with pytest.raises(ValueError, match="stage0_kernel"):
        space = MobileSpace()
        params = space.initial_params()[0] | {"stage0_kernel": 9}
        space.decode(params)


def test_parameters_follow_granularity_and_depth():
    stage = MobileSpace().distributions()
    assert {"width_mult", "stage0_channels", "stage0_blocks", "stage3_kernel", "stage3_act"} <= set(
        stage
    )
    assert not any("block0" in name for name in stage)
    block = MobileSpace(granularity="block", depth="skip").distributions()
    assert "stage1_block2_expand" in block and "stage1_block2_skip" in block
    assert "stage1_block0_skip" not in block  # a stage's first block is never skipped
    assert "stage1_blocks" not in block
    assert list(block["stage2_block1_kernel"].choices) == [3, 5, 7]
    assert list(block["stage2_block1_expand"].choices) == [1, 3, 6]
    assert list(block["stage2_block1_act"].choices) == ["relu", "hswish"]


def test_choices_of_absent_blocks_do_not_change_the_network():
    space = MobileSpace(granularity="block")
    params = space.initial_params()[0] | {"stage1_blocks": 1}
    other = params | {"stage1_block2_kernel": 7, "stage1_block1_se": True}
    assert space.decode(params) == space.decode(other)
    assert space.decode(params) != space.decode(params | {"stage1_block0_kernel": 7})
    skip = MobileSpace(granularity="block", depth="skip")
    base = skip.initial_params()[0] | {"stage1_block1_skip": True, "stage1_block2_skip": False}
    swapped = base | {"stage1_block1_skip": False, "stage1_block2_skip": True}
    same_block = {k.replace("block2", "block1"): v for k, v in base.items() if "block2_" in k}
    assert skip.decode(base) == skip.decode(swapped | {
        k: v for k, v in same_block.items() if not k.endswith("skip")
    })


def test_stage_granularity_shares_the_choices_of_a_stage():
    space = MobileSpace()
    params = space.initial_params()[0] | {"stage2_blocks": 3, "stage2_kernel": 5,
                                          "stage2_se": True, "stage2_act": "hswish"}
    spec = space.spec(space.decode(params))
    stage2 = [b for b in spec.blocks if b.out == params["stage2_channels"]]
    assert len(stage2) == 3
    assert all(b.kernel == 5 and b.se and b.act == "hswish" for b in stage2)


def test_first_candidate_is_mobilenet_v2_within_the_space():
    for space in (MobileSpace(), MobileSpace(granularity="block", depth="skip", max_blocks=2)):
        (params,) = space.initial_params()
        dists = space.distributions()
        assert set(params) == set(dists)
        assert all(distribution_contains(dists[k], v) for k, v in params.items())
        spec = space.spec(space.decode(params))
        assert all(b.kernel == 3 and not b.se and b.act == "relu" for b in spec.blocks)
        assert spec.blocks[0].expanded == spec.stem  # expansion 1 in the first stage
        assert spec.blocks[-1].expanded == 6 * spec.blocks[-2].out


def test_latency_blocks_compose_to_the_network():
    space = MobileSpace()
    arch = space.sample(np.random.default_rng(3))
    torch.manual_seed(0)
    blocks = space.latency_blocks(arch, 64, 10)
    x = torch.randn(4, 64)
    out = x.reshape(4, 1, 8, 8)
    with torch.no_grad():
        for key, module, shape in blocks:
            assert isinstance(key, str) and tuple(out.shape[1:]) == shape
            out = module.eval()(out)
    assert out.shape == (4, 10)
    assert blocks[0][0] != blocks[1][0]
    # a block's key names its operation and channels: equal blocks at equal places share it
    again = space.latency_blocks(arch, 64, 10)
    assert [k for k, _, _ in again] == [k for k, _, _ in blocks]


@pytest.mark.parametrize("strategy", sorted(strategy_names() - {"gp"}))
def test_every_black_box_strategy_proposes_valid_networks(strategy):
    space = MobileSpace(**TINY)
    study = optuna.create_study(
        sampler=make_sampler(strategy, seed=0, search_space=space), direction="maximize"
    )
    dists = space.distributions()

    def objective(trial):
        params = {name: trial.suggest_categorical(name, d.choices) for name, d in dists.items()}
        spec = space.spec(space.decode(params))
        return -float(sum(b.expanded * b.kernel for b in spec.blocks))

    study.optimize(objective, n_trials=6)
    assert len(study.trials) == 6 and all(t.value is not None for t in study.trials)


@pytest.fixture(scope="module")
def digits_images():
    X, y = load_digits(return_X_y=True)
    return X[:200].reshape(-1, 1, 8, 8), y[:200]


def test_estimator_searches_the_mobile_space_on_digits(digits_images):
    X, y = digits_images
    clf = NASClassifier(
        search_space=MobileSpace(**TINY), n_trials=2, max_epochs=2, patience=2,
        random_state=0, device="cpu", pruner=None,
    ).fit(X, y)
    assert clf.search_space_.image_shape == (1, 8, 8)
    assert clf.best_architecture_.space == "mobile"
    first = clf.study_.trials[0]
    assert first.user_attrs.get("initial") is True
    assert first.params == MobileSpace(**TINY).initial_params()[0]
    assert clf.predict(X).shape == (len(X),)
    assert NASClassifier(search_space="mobile")._resolve_search_space((1, 8, 8)).name == "mobile"


def test_batch_norm_momentum_is_the_spaces_and_checked():
    space = MobileSpace(**TINY)
    arch = space.decode(space.initial_params()[0])
    norms = [m for m in space.build_module(arch, 64, 3).modules()
             if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.momentum == 0.3 for m in norms)
    with pytest.raises(ValueError, match="bn_momentum"):
        MobileSpace(**TINY, bn_momentum=0.0).build_module(arch, 64, 3)


def test_a_fitted_mobile_network_saves_and_loads(digits_images, tmp_path):
    import sknas

    X, y = digits_images
    clf = NASClassifier(search_space=MobileSpace(**TINY), n_trials=1, max_epochs=1,
                        random_state=0, device="cpu").fit(X[:120], y[:120])
    clf.save(tmp_path / "model.skops")
    loaded = sknas.load(tmp_path / "model.skops")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))


def test_lookup_table_latency_sums_the_blocks_of_the_mobile_space():
    from sknas.latency import LookupTableLatency

    space = MobileSpace(granularity="block", **TINY)
    lut = LookupTableLatency(space, 64, 3, repeats=3, warmup=1)
    params = space.initial_params()[0] | {"stage1_blocks": 1}
    # a choice of a block that is not there: another architecture, the same blocks
    absent = params | {"stage1_block1_kernel": 7 if params["stage1_block1_kernel"] != 7 else 3}
    changed = params | {"stage1_block0_kernel": 7 if params["stage1_block0_kernel"] != 7 else 3}
    first = lut.predict(space.decode(params))
    blocks = space.latency_blocks(space.decode(params), 64, 3)
    assert len(lut.table_) == len({f"{k}@{s}" for k, _, s in blocks}) >= 3  # stem, blocks, head
    assert all(f"{k}@{s}" in lut.table_ for k, _, s in blocks)
    assert np.isfinite(first) and first > 0
    assert lut.predict(space.decode(absent)) == first
    n_entries = len(lut.table_)
    other = lut.predict(space.decode(changed))
    assert np.isfinite(other) and other > 0
    # only the changed block (and what follows it with new channels, if any) is measured anew
    assert n_entries < len(lut.table_) < 2 * n_entries


def test_latency_objective_search_of_the_mobile_space_and_refit_under_a_budget(
    digits_images, tmp_path
):
    from sklearn.base import clone

    X, y = digits_images
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    clf = NASClassifier(
        search_space=MobileSpace(**TINY), objectives=("score", "latency"), strategy="random",
        n_trials=3, max_epochs=1, refit=False, random_state=0, device="cpu",
        storage=storage, study_name="mobile",
    ).fit(X, y)
    front = clf.pareto_front_
    assert len(front) >= 1
    latency = np.asarray(clf.cv_results_["cost_latency"], dtype=float)
    assert np.all(np.isfinite(latency[front])) and np.all(latency[front] > 0)
    budget = float(latency[front].max())
    # the same storage and study: the finished search resumes without new trials and refits
    deployed = clone(clf).set_params(refit={"latency": budget}).fit(X, y)
    assert len(deployed.study_.trials) == 3
    assert deployed.best_index_ in set(deployed.pareto_front_.tolist())
    assert deployed.cv_results_["cost_latency"][deployed.best_index_] <= budget
    assert deployed.predict(X).shape == (len(X),)


def test_lookup_table_calibration_fits_scale_and_offset_of_whole_networks():
    from sknas.latency import LookupTableLatency
    from sknas.spaces._mobile_module import MobileNetwork

    def fake(module):  # a deterministic stand-in for timing a part
        return sum(p.numel() for p in module.parameters()) / 1000 + 0.01

    class Table(LookupTableLatency):
        def _time(self, module, input_shape):
            if isinstance(module, MobileNetwork):  # whole: 1.5 x its parts + 0.3 ms
                return 1.5 * sum(fake(part) for part in module.parts()) + 0.3
            return fake(module)

    space = MobileSpace(image_shape=(1, 8, 8), **TINY)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(5)]
    lut = Table(space, 64, 3)
    raw = lut.predict(archs[4])
    assert lut.calibration_ is None and raw == pytest.approx(lut.table_sum(archs[4]))
    lut.calibrate(archs[:4])
    assert lut.calibration_ == pytest.approx((1.5, 0.3))
    assert lut.predict(archs[4]) == pytest.approx(1.5 * raw + 0.3)
    with pytest.raises(ValueError, match="at least two architectures"):
        lut.calibrate(archs[:1])
