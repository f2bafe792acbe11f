"""Tests of the recurrent-cell space and its networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sknas.spaces import RecurrentCellSpace
from sknas.spaces.recurrent import PUBLISHED_RECURRENT
from sknas.testing import SearchSpaceConformance


class TestRecurrentCellSpaceConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self):
        return RecurrentCellSpace(hidden_size=4, n_nodes=3)


def _cell_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.rnn.parameters())


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n_features", [1, 3])
def test_gru_and_lstm_are_sized_to_the_searched_cell(n_features, bias):
    space = RecurrentCellSpace(hidden_size=16, n_nodes=4, sequence_shape=(5, n_features),
                               bias=bias)
    searched = _cell_parameters(space.build_module(_typed(space, "searched"), 5 * n_features, 2))
    biases = 2 * 16 * (4 + 1) if bias else 0
    assert searched == 2 * 16 * (n_features + 16) + 2 * 4 * 16 * 16 + biases
    for cell_type, gates in (("gru", 3), ("lstm", 4)):
        g = space.hidden_size_of(cell_type, n_features)
        module = space.build_module(_typed(space, cell_type), 5 * n_features, 2)
        assert module.rnn.hidden_size == g
        assert _cell_parameters(module) == gates * (n_features * g + g * g + 2 * g) <= searched
        bigger = gates * (n_features * (g + 1) + (g + 1) ** 2 + 2 * (g + 1))
        assert bigger > searched


def _typed(space: RecurrentCellSpace, cell_type: str, readout: str = "last"):
    params = space.to_params(space.from_genotype([("tanh", 0)] * space.n_nodes))
    return space.decode({**params, "cell_type": cell_type, "readout": readout})


def test_gru_and_lstm_ignore_the_node_parameters():
    space = RecurrentCellSpace(n_nodes=2)
    common = {"cell_type": "gru", "readout": "mean", "lr": 0.003}
    a = space.decode({**common, "node_1_input": 0, "node_1_activation": "tanh",
                      "node_2_input": 1, "node_2_activation": "relu"})
    b = space.decode({**common, "node_1_input": 0, "node_1_activation": "relu",
                      "node_2_input": 0, "node_2_activation": "sigmoid"})
    assert a == b and a.key() == "gru [mean, lr=0.003]"
    rng = np.random.default_rng(0)
    for _ in range(10):
        child = space.mutate(a, rng)
        changed = {n for n in space.distributions() if child.params[n] != a.params[n]}
        # One of the parameters a GRU has changed, never only a node of its unused cell.
        assert len(changed & {"cell_type", "readout", "lr"}) == 1, changed


def test_published_cells_and_known_members():
    assert str(RecurrentCellSpace.cell("darts_v2")).startswith("searched: sigmoid~0|relu~1")
    assert RecurrentCellSpace.cell("lstm", readout="last", lr=0.01).key() == "lstm [last, lr=0.01]"
    assert RecurrentCellSpace().genotype(RecurrentCellSpace.cell("darts_v1")) == (
        PUBLISHED_RECURRENT["darts_v1"]
    )
    with pytest.raises(ValueError, match="Unknown recurrent cell"):
        RecurrentCellSpace.cell("enas")
    with pytest.raises(ValueError, match="n_nodes=4"):
        RecurrentCellSpace(n_nodes=4).from_genotype(PUBLISHED_RECURRENT["darts_v2"])
    with pytest.raises(ValueError, match="cell_types must be distinct names"):
        RecurrentCellSpace(cell_types=("rnn",)).distributions()


@pytest.mark.parametrize("readout", ["last", "mean", "max"])
@pytest.mark.parametrize("cell_type", ["searched", "gru", "lstm"])
def test_end_padding_gives_the_output_of_the_shorter_sequence(cell_type, readout):
    torch.manual_seed(0)
    readouts = ("last", "mean", "max")
    long_space = RecurrentCellSpace(hidden_size=4, n_nodes=3, sequence_shape=(7, 2),
                                    readouts=readouts)
    short_space = RecurrentCellSpace(hidden_size=4, n_nodes=3, sequence_shape=(4, 2),
                                     readouts=readouts)
    arch = _typed(long_space, cell_type, readout)
    long_net = long_space.build_module(arch, 14, 3).eval()
    short_net = short_space.build_module(arch, 8, 3).eval()
    short_net.load_state_dict(long_net.state_dict())
    x = torch.randn(3, 7, 2)
    padded = x.clone()
    padded[:, 4:] = float("nan")
    with torch.no_grad():
        expected = short_net(x[:, :4].reshape(3, -1))
        got = long_net(padded.reshape(3, -1))
        full = long_net(x.reshape(3, -1))
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(full, expected)


def test_flat_rows_are_univariate_sequences_unless_shaped():
    assert RecurrentCellSpace().resolve_sequence_shape(12) == (12, 1)
    assert RecurrentCellSpace(sequence_shape=(4, 3)).resolve_sequence_shape(12) == (4, 3)
    with pytest.raises(ValueError, match="sequence_shape"):
        RecurrentCellSpace(sequence_shape=(5, 3)).resolve_sequence_shape(12)


@pytest.mark.parametrize("cell_type", ["searched", "gru"])
def test_readouts_read_the_states_over_time(cell_type):
    torch.manual_seed(0)
    space = RecurrentCellSpace(hidden_size=4, n_nodes=2, sequence_shape=(5, 1),
                               readouts=("last", "mean", "max"))
    net = space.build_module(_typed(space, cell_type, "last"), 5, 3).eval()
    x = torch.randn(2, 5)
    x[1, 3:] = float("nan")  # the second sequence has 3 timesteps
    with torch.no_grad():
        if cell_type == "searched":
            h, states = torch.zeros(2, 4), []
            for t in range(5):
                step = net.rnn(x[:, t, None].nan_to_num(), h)
                h = torch.where(torch.isnan(x[:, t, None]), h, step)
                states.append(h)
            outputs = torch.stack(states, dim=1)
        else:
            outputs = net.rnn(x.nan_to_num().unsqueeze(-1))[0]
        first, second = outputs[0], outputs[1, :3]
        for readout, read in (("mean", lambda s: s.mean(0)), ("max", lambda s: s.amax(0)),
                              ("last", lambda s: s[-1])):
            net.readout = readout
            expected = net.head(torch.stack([read(first), read(second)]))
            torch.testing.assert_close(net(x), expected)


def test_keys_and_training_settings_are_shared_by_all_cell_types():
    space = RecurrentCellSpace(n_nodes=2, learning_rates=(0.01, 0.001), batch_size=4,
                               weight_decay=0.0, grad_clip=2.0, patience_steps=50)
    assert space.preferred_threads == 1
    assert list(space.distributions())[:3] == ["cell_type", "readout", "lr"]
    searched = space.from_genotype([("relu", 0), ("tanh", 1)], readout="last")
    assert searched.key() == "searched: relu~0|tanh~1 [last, lr=0.01]"
    gru = space.decode({**space.to_params(searched), "cell_type": "gru", "lr": 0.001})
    assert gru.key() == "gru [last, lr=0.001]"
    expected = {"weight_decay": 0.0, "batch_size": 4, "optimizer": "adam", "grad_clip": 2.0,
                "patience_steps": 50}
    assert space.training_config(searched) == {**expected, "lr": 0.01}
    assert space.training_config(gru) == {**expected, "lr": 0.001}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"readouts": ("mean", "attention")}, "readouts must be distinct names"),
        ({"learning_rates": (0.01, -1.0)}, "learning_rates must be distinct positive"),
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"grad_clip": -1.0}, "grad_clip must be a number >= 0"),
        ({"patience_steps": 2.5}, "patience_steps must be an int >= 1"),
    ],
)
def test_bad_settings_are_refused_with_their_name(setting, message):
    space = RecurrentCellSpace(n_nodes=2, **setting)
    with pytest.raises(ValueError, match=message):
        arch = space.sample(np.random.default_rng(0))
        space.training_config(arch)


def test_search_starts_from_the_known_defaults():
    # DARTS V2's cell (its first n_nodes nodes) at the first readout and learning rate.
    space = RecurrentCellSpace(n_nodes=4, readouts=("last", "mean"), learning_rates=(0.01,))
    (first,) = space.initial_params()
    assert space.decode(first).key() == (
        "searched: sigmoid~0|relu~1|relu~1|identity~1 [last, lr=0.01]"
    )
    assert RecurrentCellSpace().decode(RecurrentCellSpace().initial_params()[0]) == (
        RecurrentCellSpace.cell("darts_v2")
    )
    # A GRU-only space starts from the same default readout and learning rate.
    (gru,) = RecurrentCellSpace(n_nodes=4, cell_types=("gru",)).initial_params()
    assert RecurrentCellSpace(n_nodes=4).decode(gru).key() == "gru [mean, lr=0.003]"
    assert RecurrentCellSpace(n_nodes=9).initial_params() == []
    assert RecurrentCellSpace(n_nodes=2, activations=("tanh",)).initial_params() == []


def test_gates_start_mostly_shut_with_bias_and_darts_cell_has_none():
    from sknas.spaces._recurrent_module import GATE_BIAS

    arch = RecurrentCellSpace.cell("darts_v2")
    net = RecurrentCellSpace(hidden_size=4).build_module(arch, 10, 2)
    for layer in (net.rnn.w0, *net.rnn.ws):
        assert (layer.bias[:4] == GATE_BIAS).all() and (layer.bias[4:] == 0).all()
    plain = RecurrentCellSpace(hidden_size=4, bias=False).build_module(arch, 10, 2)
    assert all(layer.bias is None for layer in (plain.rnn.w0, *plain.rnn.ws))


@pytest.mark.parametrize("bias", [True, False])
def test_cell_run_over_a_sequence_is_its_step_repeated(bias):
    torch.manual_seed(0)
    space = RecurrentCellSpace(hidden_size=5, n_nodes=3, sequence_shape=(6, 2), bias=bias)
    cell = space.build_module(
        space.decode({**space.to_params(space.sample(np.random.default_rng(1))),
                      "cell_type": "searched"}), 12, 2
    ).rnn
    x = torch.randn(4, 6, 2)
    h, expected = torch.zeros(4, 5), []
    for t in range(6):
        h = cell(x[:, t], h)
        expected.append(h)
    torch.testing.assert_close(cell.run(x), torch.stack(expected, dim=1))
    present = torch.ones(4, 6, dtype=torch.bool)
    torch.testing.assert_close(cell.run(x, present), torch.stack(expected, dim=1))
