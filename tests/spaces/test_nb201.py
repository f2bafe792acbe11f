"""Tests of the NAS-Bench-201 cell space and its network."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution
from sklearn.base import clone

from sknas.spaces import NB201Space
from sknas.spaces.nb201 import NB201_EDGES, NB201_OPS
from sknas.testing import SearchSpaceConformance

BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


class TestNB201SpaceConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self):
        return NB201Space(channels=4, cells_per_stage=1)

    @pytest.fixture
    def module_io(self):
        return 3 * 8 * 8, 3


@pytest.fixture(scope="module")
def table(nb201_csv):
    with open(nb201_csv, newline="") as handle:
        return list(csv.DictReader(handle))


def test_distributions_are_six_categoricals_in_arch_str_order():
    dists = NB201Space().distributions()
    assert list(dists) == ["edge_0_1", "edge_0_2", "edge_1_2", "edge_0_3", "edge_1_3", "edge_2_3"]
    for dist in dists.values():
        assert isinstance(dist, CategoricalDistribution)
        assert tuple(dist.choices) == NB201_OPS


def test_decode_gives_official_arch_str_and_round_trips():
    space = NB201Space()
    arch = space.arch_from_str(BEST)
    assert arch.key() == BEST
    assert arch.space == "nb201"
    assert arch.params["edge_1_3"] == "nor_conv_3x3"
    assert arch.params["edge_2_3"] == "nor_conv_1x1"
    assert space.decode(space.to_params(arch)) == arch
    assert space.ops(arch) == (
        "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3",
        "nor_conv_1x1",
    )


def test_all_architectures_are_distinct_and_parse_back():
    space = NB201Space()
    archs = list(space.all_architectures())
    assert len(archs) == 5**6 == len({a.key() for a in archs})
    assert all(space.arch_from_str(a.key()) == a for a in archs[::97])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "|none~0|+|none~0|none~1|",
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~0|+|none~0|+|none~0|none~1|none~2|",
    ],
)
def test_arch_from_str_rejects_malformed_strings(bad):
    with pytest.raises(ValueError, match="arch_str"):
        NB201Space().arch_from_str(bad)


def test_decode_rejects_missing_or_unknown_operation():
    space = NB201Space()
    params = space.to_params(space.arch_from_str(BEST))
    with pytest.raises(ValueError, match="edge_0_1"):
        space.decode({**params, "edge_0_1": "conv5x5"})
    del params["edge_2_3"]
    with pytest.raises(ValueError, match="edge_2_3"):
        space.decode(params)


def test_canonical_key_matches_table(table):
    space = NB201Space()
    for row in table[::50]:
        ops = [row[f"op_{i}_{j}"] for i, j in NB201_EDGES]
        arch = space.decode(dict(zip(space.distributions(), ops)))
        assert arch.key() == row["arch_str"]


def test_isomorphism_key_reproduces_the_6466_classes(table):
    space = NB201Space()
    ours = [space.isomorphism_key(space.arch_from_str(r["arch_str"])) for r in table]
    theirs = [r["iso_class"] for r in table]
    assert len(set(ours)) == len(set(theirs)) == 6466
    # Same partition: the map between keys is a bijection.
    pairs = set(zip(ours, theirs))
    assert len(pairs) == 6466
    assert ours == theirs


def test_isomorphism_key_identifies_commuting_branches():
    space = NB201Space()
    # Node 1 is a copy of the input, so convolving node 0 or node 1 is the same.
    a = space.arch_from_str(
        "|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|none~2|"
    )
    b = space.arch_from_str(
        "|skip_connect~0|+|none~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|"
    )
    assert a != b
    assert space.isomorphism_key(a) == space.isomorphism_key(b)
    # Swapping the convolutions on 1->3 and 2->3 of the best cell is not a symmetry.
    best = space.arch_from_str(BEST)
    swapped = space.arch_from_str(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    )
    assert space.isomorphism_key(best) != space.isomorphism_key(swapped)
    assert space.isomorphism_key(best) != space.isomorphism_key(space.arch_from_str(ALL_NONE))


def test_is_connected_matches_table(table):
    space = NB201Space()
    flags = [space.is_connected(space.arch_from_str(r["arch_str"])) for r in table]
    assert flags == [r["output_connected"] == "True" for r in table]
    assert flags.count(False) == 341


def test_onehot_encoding():
    space = NB201Space()
    arch = space.arch_from_str(BEST)
    vec = space.encode(arch, "onehot")
    assert vec.shape == (30,)
    assert vec.sum() == 6
    blocks = vec.reshape(6, 5).argmax(axis=1)
    assert [NB201_OPS[k] for k in blocks] == list(space.ops(arch))


def test_path_encoding():
    space = NB201Space()
    assert space.encode(space.arch_from_str(ALL_NONE), "path").shape == (84,)
    assert space.encode(space.arch_from_str(ALL_NONE), "path").sum() == 0
    all_conv = space.decode({name: "nor_conv_3x3" for name in space.distributions()})
    # Paths 0-3 (length 1), 0-1-3 and 0-2-3 (the same length-2 sequence), 0-1-2-3.
    assert space.encode(all_conv, "path").sum() == 3
    best = space.encode(space.arch_from_str(BEST), "path")
    # skip; conv3-conv3; conv3-conv1; conv3-conv3-conv1: four different sequences.
    assert best.sum() == 4
    # Cutting edge 0-1 removes the paths 0-1-3 and 0-1-2-3.
    cut = space.decode({**space.to_params(space.arch_from_str(BEST)), "edge_0_1": "none"})
    assert space.encode(cut, "path").sum() == 2
    with pytest.raises(ValueError, match="supported"):
        space.encode(all_conv, "adjacency")


def test_sample_is_seeded_and_leaves_global_rng_alone():
    space = NB201Space()
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checks the legacy global RNG)
    a = [space.sample(np.random.default_rng(3)).key() for _ in range(2)]
    assert a[0] == a[1]
    keys = {space.sample(np.random.default_rng(s)).key() for s in range(50)}
    assert len(keys) > 45
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_mutate_changes_exactly_one_edge():
    space = NB201Space()
    rng = np.random.default_rng(0)
    arch = space.arch_from_str(BEST)
    for _ in range(50):
        child = space.mutate(arch, rng)
        diff = [a != b for a, b in zip(space.ops(arch), space.ops(child))]
        assert sum(diff) == 1
    first = space.mutate(arch, np.random.default_rng(7))
    assert space.mutate(arch, np.random.default_rng(7)) == first


def test_neighbours_are_the_24_one_edge_changes():
    space = NB201Space()
    arch = space.arch_from_str(BEST)
    neighbours = space.neighbours(arch)
    assert len(neighbours) == 24 == len({n.key() for n in neighbours})
    for n in neighbours:
        assert sum(a != b for a, b in zip(space.ops(arch), space.ops(n))) == 1


def test_space_is_a_configurable_estimator():
    space = NB201Space(channels=8, cells_per_stage=2, image_shape=(1, 8, 8))
    copy = clone(space)
    assert copy.get_params() == {"channels": 8, "cells_per_stage": 2, "image_shape": (1, 8, 8)}


def test_importing_the_space_does_not_import_torch():
    code = "import sys, sknas.spaces.nb201, sknas.benchmarks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the network -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n_features", "shape"), [(3072, (3, 32, 32)), (784, (1, 28, 28)), (64, (1, 8, 8))]
)
def test_image_shape_is_inferred(n_features, shape):
    assert NB201Space().resolve_image_shape(n_features) == shape


def test_image_shape_errors():
    with pytest.raises(ValueError, match="image_shape"):
        NB201Space().resolve_image_shape(10)
    with pytest.raises(ValueError, match="holds 48 values"):
        NB201Space(image_shape=(3, 4, 4)).resolve_image_shape(64)


def test_module_forward_and_backward():
    import torch

    space = NB201Space(channels=4, cells_per_stage=1, image_shape=(2, 8, 6))
    arch = space.arch_from_str(BEST)
    module = space.build_module(arch, 96, 5)
    x = torch.randn(3, 96, generator=torch.Generator().manual_seed(0))
    out = module(x)
    assert out.shape == (3, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in module.parameters())


def test_all_none_cell_ignores_its_input():
    import torch

    space = NB201Space(channels=4, cells_per_stage=1)
    module = space.build_module(space.arch_from_str(ALL_NONE), 3 * 8 * 8, 3).eval()
    x = torch.randn(4, 192, generator=torch.Generator().manual_seed(1))
    out = module(x)
    assert torch.allclose(out, out[:1].expand_as(out))


def test_parameter_counts_match_nas_bench_201(table):
    space = NB201Space()
    rng = np.random.default_rng(0)
    rows = [table[int(i)] for i in rng.choice(len(table), size=200, replace=False)]
    for row in rows:
        module = space.build_module(space.arch_from_str(row["arch_str"]), 3072, 10)
        n_params = sum(p.numel() for p in module.parameters()) / 1e6
        assert n_params == pytest.approx(float(row["cifar10_params_m"]), abs=1e-4)
