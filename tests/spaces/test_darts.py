"""Tests of the DARTS cell space, its network and its transfer to a larger stack."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch
from sklearn.datasets import load_digits

from sknas import NASClassifier
from sknas.samplers._registry import STRATEGIES, make_sampler
from sknas.spaces import DARTSSpace
from sknas.spaces.darts import DARTS_OPS, PUBLISHED_CELLS, Genotype
from sknas.testing import SearchSpaceConformance

SMALL = {"channels": 2, "cells": 2, "n_nodes": 2}


class TestDARTSSpaceConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self):
        return DARTSSpace(**SMALL)

    @pytest.fixture
    def module_io(self):
        return 1 * 8 * 8, 3


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_darts_v2_cifar_network_has_the_papers_3_3_million_parameters():
    # DARTS' NetworkCIFAR: 20 cells, 36 channels, 10 classes, no auxiliary head.
    space = DARTSSpace(channels=36, cells=20, image_shape=(3, 32, 32))
    with torch.device("meta"):
        module = space.build_module(DARTSSpace.cell("darts_v2"), 3 * 32 * 32, 10)
    n = _count(module)
    assert round(n / 1e6, 1) == 3.3
    assert n == 3_349_342  # the reference code's count_parameters_in_MB: 3.349342


def test_published_cells_round_trip_through_the_genotype_notation():
    space = DARTSSpace()
    for name, genotype in PUBLISHED_CELLS.items():
        arch = DARTSSpace.cell(name)
        assert space.genotype(arch) == genotype
        assert str(arch) == str(genotype)
        assert space.from_genotype(str(genotype)) == arch
    text = str(PUBLISHED_CELLS["darts_v2"]).replace("[2, 3, 4, 5]", "range(2, 6)")
    assert space.from_genotype(text) == DARTSSpace.cell("darts_v2")
    with pytest.raises(ValueError, match="Unknown published cell"):
        DARTSSpace.cell("nasnet")


def test_genotypes_outside_the_space_are_refused():
    space = DARTSSpace()
    v2 = PUBLISHED_CELLS["darts_v2"]
    with pytest.raises(ValueError, match="needs 8"):
        space.from_genotype(v2._replace(normal=v2.normal[:6]))
    with pytest.raises(ValueError, match="concatenates every intermediate node"):
        space.from_genotype(v2._replace(reduce_concat=[4, 5]))
    with pytest.raises(ValueError, match="normal_3_0_input"):
        bad = [*v2.normal[:2], ("sep_conv_3x3", 3), *v2.normal[3:]]
        space.from_genotype(v2._replace(normal=bad))
    with pytest.raises(ValueError, match="op"):
        DARTSSpace(ops=("sep_conv_3x3", "max_pool_3x3")).from_genotype(v2)
    with pytest.raises(ValueError, match="not a genotype"):
        space.from_genotype("Genotype(normal=")
    with pytest.raises(ValueError, match="ops must be distinct names"):
        DARTSSpace(ops=("conv_9x9",)).distributions()


def test_a_nodes_two_terms_commute_in_the_key():
    space = DARTSSpace()
    v2 = PUBLISHED_CELLS["darts_v2"]
    swapped = [v2.normal[1], v2.normal[0], *v2.normal[2:]]
    assert space.from_genotype(v2._replace(normal=swapped)) == DARTSSpace.cell("darts_v2")
    other = [v2.normal[0], ("sep_conv_5x5", 1), *v2.normal[2:]]
    assert space.from_genotype(v2._replace(normal=other)) != DARTSSpace.cell("darts_v2")


def test_distributions_follow_the_nodes_and_ops():
    dists = DARTSSpace(n_nodes=3, ops=("skip_connect", "sep_conv_3x3")).distributions()
    assert len(dists) == 2 * 3 * 2 * 2
    assert dists["reduce_4_1_input"].choices == (0, 1, 2, 3)
    assert dists["normal_2_0_op"].choices == ("skip_connect", "sep_conv_3x3")
    assert len(DARTSSpace().distributions()["normal_2_0_op"].choices) == len(DARTS_OPS) == 8


def test_reduction_cells_halve_the_resolution_at_a_third_and_two_thirds():
    space = DARTSSpace(channels=4, cells=6, image_shape=(3, 9, 9))
    module = space.build_module(DARTSSpace.cell("darts_v1"), 3 * 81, 5)
    assert [cell.ops[0].__class__.__name__ for cell in module.cells].count("MaxPool2d") == 2
    sizes = []
    hooks = [c.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
             for c in module.cells]
    out = module(torch.randn(2, 3 * 81))
    for hook in hooks:
        hook.remove()
    assert out.shape == (2, 5)
    assert sizes == [9, 9, 5, 5, 3, 3]  # odd sizes round up, as in the skip path


def test_every_operation_builds_in_normal_and_reduction_cells():
    space = DARTSSpace(channels=2, cells=2, n_nodes=1, ops=(*DARTS_OPS, "sep_conv_7x7"))
    for op in space.ops:
        edges = [(op, 0), (op, 1)]
        arch = space.from_genotype(Genotype(edges, [2], edges, [2]))
        out = space.build_module(arch, 64, 3)(torch.randn(2, 64))
        assert out.shape == (2, 3) and torch.isfinite(out).all(), op


def test_for_refit_builds_the_larger_stack():
    space = DARTSSpace(channels=2, cells=2, final_cells=5, final_channels=6)
    final = space.for_refit()
    assert (final.cells, final.channels, final.final_cells) == (5, 6, None)
    assert (space.cells, space.channels) == (2, 2)  # the space itself is unchanged
    arch = DARTSSpace.cell("darts_v2")
    assert len(final.build_module(arch, 64, 3).cells) == 5
    assert DARTSSpace(cells=3).for_refit().get_params() == DARTSSpace(cells=3).get_params()


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_proposes_darts_cells(strategy):
    """Every registered black-box strategy searches the space (a cheap score, no training)."""
    space = DARTSSpace(n_nodes=2)
    sampler = make_sampler(strategy, seed=0, search_space=space)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        params = {name: trial._suggest(name, dist) for name, dist in space.distributions().items()}
        arch = space.decode(params)
        return float(str(arch).count("sep_conv_3x3"))

    study.optimize(objective, n_trials=12)
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    assert len({space.decode(t.params).key() for t in study.trials}) > 3


def test_search_on_digits_refits_the_larger_stack():
    X, y = load_digits(return_X_y=True)
    X, y = X[:150].reshape(-1, 1, 8, 8), y[:150]
    space = DARTSSpace(channels=2, cells=2, n_nodes=2, final_cells=3, final_channels=4)
    clf = NASClassifier(search_space="darts", n_trials=1, max_epochs=1, random_state=0)
    clf.set_params(search_space=space, strategy="evolution", n_trials=2).fit(X, y)
    assert clf.search_space_.image_shape == (1, 8, 8)
    assert clf.best_architecture_.space == "darts"
    inner = clf.best_estimator_.module_.inner
    assert len(inner.cells) == 3 and inner.stem[0].out_channels == 3 * 4
    assert clf.predict(X).shape == (150,)
    assert np.isfinite(clf.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_trains_darts_cells_end_to_end_and_refits_the_larger_stack(strategy):
    """The #14 bar: each black-box strategy fits on digits and transfers at refit."""
    X, y = load_digits(return_X_y=True)
    X, y = (X[:60] / 16.0).reshape(-1, 1, 8, 8), y[:60]
    space = DARTSSpace(channels=2, cells=1, n_nodes=2, final_cells=3, final_channels=4)
    clf = NASClassifier(
        search_space=space, strategy=strategy, n_trials=3, max_epochs=1, random_state=0
    ).fit(X, y)
    assert list(clf.cv_results_["state"]) == ["COMPLETE"] * 3
    assert clf.best_architecture_.space == "darts"
    inner = clf.best_estimator_.module_.inner
    assert len(inner.cells) == 3 and inner.stem[0].out_channels == 3 * 4
    assert clf.predict(X).shape == (60,)
