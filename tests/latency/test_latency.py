"""Latency models: measured, per-block lookup table, fitted to a device table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from sknas.latency import (
    LookupTableLatency,
    MeasuredLatency,
    TableLatencyModel,
    count_flops,
    count_parameters,
    measure_latency,
    read_latency_table,
)
from sknas.spaces import MLPSpace, NB201Space


def test_measure_latency_grows_with_work_and_restores_threads_and_mode():
    small, big = torch.nn.Linear(16, 16), torch.nn.Sequential(
        *[torch.nn.Linear(512, 512) for _ in range(6)]
    )
    big.train()
    threads = torch.get_num_threads()
    fast = measure_latency(small, (16,), repeats=15, warmup=2)
    slow = measure_latency(big, (512,), batch_size=8, repeats=15, warmup=2, n_threads=1)
    assert 0 < fast < slow
    assert torch.get_num_threads() == threads and big.training
    with pytest.raises(ValueError, match="repeats"):
        measure_latency(small, (16,), repeats=0)


def test_counts_match_torch():
    layer = torch.nn.Linear(10, 4)
    assert count_parameters(layer) == 44
    assert count_flops(layer, (10,), batch_size=3) == 2 * 3 * 10 * 4


def test_measured_latency_is_cached_per_architecture():
    space = MLPSpace(max_layers=2, widths=(8, 16))
    model = MeasuredLatency(space, 5, 2, repeats=3, warmup=1)
    arch = space.sample(np.random.default_rng(0))
    first = model.predict(arch)
    assert model.predict(arch) == first and list(model.cache_) == [arch.key()]


@pytest.mark.parametrize("space", [NB201Space(channels=4, cells_per_stage=1),
                                   MLPSpace(max_layers=3, widths=(8, 64))])
def test_latency_blocks_cover_the_network(space):
    n_features = 3 * 8 * 8 if isinstance(space, NB201Space) else 6
    arch = space.sample(np.random.default_rng(1))
    blocks = space.latency_blocks(arch, n_features, 3)
    module = space.build_module(arch, n_features, 3)
    assert {id(m) for _, m, _ in blocks} <= {id(m) for m in module.modules()} | {
        id(m) for _, m, _ in blocks
    }
    for _, block, shape in blocks:  # every block runs on the recorded shape
        block.eval()
        with torch.no_grad():
            block(torch.zeros((1, *shape)))
    own = sum(p.numel() for _, b, _ in blocks for p in b.parameters(recurse=True))
    assert own == count_parameters(module)  # no block missed, none counted twice
    lut = LookupTableLatency(space, n_features, 3, repeats=3, warmup=1)
    assert lut.predict(arch) > 0 and len(lut.table_) <= len(blocks)


def test_lookup_table_ranks_nb201_cells_like_measurement():
    space = NB201Space(channels=4, cells_per_stage=1)
    lut = LookupTableLatency(space, 3 * 8 * 8, 10, repeats=7, warmup=2)
    measured = MeasuredLatency(space, 3 * 8 * 8, 10, repeats=7, warmup=2)
    cells = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
             "nor_conv_3x3~2|"]
    archs = [space.arch_from_str(c) for c in cells]
    assert lut.predict(archs[0]) < lut.predict(archs[1])
    assert measured.predict(archs[0]) < measured.predict(archs[1])


def test_table_model_predicts_a_device_table(nb201_latency_csv):
    names, latency = read_latency_table(nb201_latency_csv, "pixel3")
    space = NB201Space()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(names), 700, replace=False)
    archs = [space.arch_from_str(names[i]) for i in rows]
    model = TableLatencyModel(space).fit(archs[:500], latency[rows[:500]])
    rho = spearmanr(model.predict(archs[500:]), latency[rows[500:]]).statistic
    assert rho > 0.9
    with pytest.raises(ValueError, match="devices there"):
        read_latency_table(nb201_latency_csv, "tpu")
