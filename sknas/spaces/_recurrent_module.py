"""PyTorch networks of a :class:`~sknas.spaces.RecurrentCellSpace` architecture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import nn

__all__ = ["SearchedCell", "RecurrentNetwork", "ACTIVATIONS", "READOUTS"]

#: Initial bias of the searched cell's gates (with ``bias=True``): sigmoid(-1) = 0.27, so
#: that each highway step starts by keeping most of its input state.
GATE_BIAS = -1.0

#: The node activations of the searched cell.
ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda x: x,
}


class SearchedCell(nn.Module):
    """The ENAS/DARTS recurrent cell (Pham et al., 2018; Liu et al., 2019).

    From the input ``x_t`` and the previous state ``h``, node 0 is
    ``s_0 = h + c_0 * (tanh(W_h [x_t, h]) - h)`` with the gate
    ``c_0 = sigmoid(W_c [x_t, h])``; node ``j`` reads one earlier node
    ``s_p`` and is the highway step ``s_j = s_p + c_j * (f_j(W_j s_p) - s_p)``
    with ``c_j = sigmoid(W'_j s_p)`` and its own activation ``f_j``. The new
    state is the mean of nodes ``1 ... n``. As in DARTS, the projections have
    no bias.

    Parameters
    ----------
    genotype : sequence of (str, int)
        ``(activation, input node)`` of nodes ``1 ... n``.
    n_features : int
        Width of ``x_t``.
    hidden_size : int
        Width of the state.
    bias : bool, default=False
        Whether the projections have a bias (DARTS: no).
    """

    def __init__(self, genotype: Sequence[tuple[str, int]], n_features: int,
                 hidden_size: int, bias: bool = False) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.genotype = [(str(a), int(p)) for a, p in genotype]
        self.w0 = nn.Linear(n_features + hidden_size, 2 * hidden_size, bias=bias)
        self.ws = nn.ModuleList(
            nn.Linear(hidden_size, 2 * hidden_size, bias=bias) for _ in self.genotype
        )
        if bias:
            with torch.no_grad():
                for layer in (self.w0, *self.ws):
                    layer.bias.zero_()
                    layer.bias[:hidden_size] = GATE_BIAS

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.step(self.project_input(x), h)

    def project_input(self, x: torch.Tensor) -> torch.Tensor:
        """The input's part of node 0's projection, ``W_x x`` (any leading shape).

        A network computes it for all timesteps at once before the loop over time.
        """
        return nn.functional.linear(x, self.w0.weight[:, : x.shape[-1]], self.w0.bias)

    def step(self, x_projected: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The new state from ``project_input(x_t)`` and the previous state ``h``."""
        return self._stepper()(x_projected, h)

    def _stepper(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The step with every weight looked up once (a loop over time calls it per timestep).

        Slicing the state's part of node 0's weight, the modules' calls and the
        activation look-ups are done here, once per sequence instead of once per
        timestep: fewer operations per step, for the forward and the backward pass.
        """
        n_in = self.w0.weight.shape[1] - self.hidden_size
        w_state = self.w0.weight[:, n_in:].t()
        nodes = [(cast(nn.Linear, w).weight, cast(nn.Linear, w).bias, ACTIVATIONS[activation],
                  source) for (activation, source), w in zip(self.genotype, self.ws)]
        linear = nn.functional.linear

        def step(x_projected: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            c0, h0 = torch.addmm(x_projected, h, w_state).chunk(2, -1)
            # torch.lerp(a, b, c) = a + c * (b - a): the highway step in one operation.
            states = [torch.lerp(h, h0.tanh(), c0.sigmoid())]
            for weight, bias, activation, source in nodes:
                s_prev = states[source]
                c, candidate = linear(s_prev, weight, bias).chunk(2, dim=-1)
                states.append(torch.lerp(s_prev, activation(candidate), c.sigmoid()))
            return torch.stack(states[1:], dim=-1).mean(dim=-1)

        return step

    def run(self, x: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """The states ``(n, timesteps, hidden)`` over a batch of sequences ``x`` (n, timesteps, f).

        The state starts at zero; where ``present`` (n, timesteps) is False
        (padding) the state is carried over unchanged. None: every timestep is
        present.
        """
        step = self._stepper()
        h = x.new_zeros(x.shape[0], self.hidden_size)
        states = []
        # (a network built on the meta device, to check shapes, has no values to test)
        if present is None or (not present.is_meta and bool(present.all())):
            for x_t in self.project_input(x).unbind(1):
                h = step(x_t, h)
                states.append(h)
        else:
            for x_t, keep in zip(self.project_input(x).unbind(1), present.unsqueeze(-1).unbind(1)):
                h = torch.where(keep, step(x_t, h), h)
                states.append(h)
        return torch.stack(states, dim=1)


#: How the network reads a sequence's states: the last one, or their mean or maximum.
READOUTS: tuple[str, ...] = ("mean", "last", "max")


class RecurrentNetwork(nn.Module):
    """A recurrent cell read over a sequence, a readout over time, then a linear head.

    The input is a flat batch ``(n, timesteps * n_features)`` reshaped to
    ``(n, timesteps, n_features)``. Timesteps whose features are all NaN are
    padding (a sequence shorter than the others): the state is carried over
    them unchanged and the readout ignores them, so the head reads each
    sequence's own states only.

    Parameters
    ----------
    cell_type : {"searched", "gru", "lstm"}
        The cell.
    genotype : sequence of (str, int)
        The searched cell's nodes (ignored for ``gru`` and ``lstm``).
    timesteps, n_features : int
        Shape of one sequence.
    hidden_size : int
        Width of the state.
    n_outputs : int
        Width of the output.
    readout : {"last", "mean", "max"}, default="last"
        What the head reads: the state after the sequence's last timestep, or
        the mean or the maximum of its states over its timesteps.
    bias : bool, default=False
        Whether the searched cell's projections have a bias (GRU and LSTM
        always have one).
    """

    def __init__(self, cell_type: str, genotype: Sequence[tuple[str, int]], timesteps: int,
                 n_features: int, hidden_size: int, n_outputs: int,
                 readout: str = "last", bias: bool = False) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"Unknown readout {readout!r}; expected one of {list(READOUTS)}.")
        self.cell_type = cell_type
        self.readout = readout
        self.shape = (int(timesteps), int(n_features))
        self.rnn: nn.Module
        if cell_type == "searched":
            self.rnn = SearchedCell(genotype, n_features, hidden_size, bias=bias)
        elif cell_type == "gru":
            self.rnn = nn.GRU(n_features, hidden_size, batch_first=True)
        elif cell_type == "lstm":
            self.rnn = nn.LSTM(n_features, hidden_size, batch_first=True)
        else:
            raise ValueError(f"Unknown recurrent cell type {cell_type!r}.")
        self.hidden_size = hidden_size
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], *self.shape)
        present = ~torch.isnan(x).all(dim=-1)  # (n, timesteps): False on padding
        x = torch.nan_to_num(x, nan=0.0)
        if self.cell_type == "searched":
            outputs = cast(SearchedCell, self.rnn).run(x, present)
        else:
            # Padding is trailing: the outputs before it do not depend on it.
            outputs, _ = self.rnn(x)
        return self.head(self._read(outputs, present))

    def _read(self, outputs: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """The readout of the states ``outputs`` (n, timesteps, hidden) at present timesteps."""
        if self.readout == "mean":
            weights = present.to(outputs.dtype).unsqueeze(-1)
            return (outputs * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        if self.readout == "max":
            masked = outputs.masked_fill(~present.unsqueeze(-1), float("-inf"))
            best = masked.max(dim=1).values
            return torch.where(torch.isfinite(best), best, torch.zeros_like(best))
        last = (present.sum(dim=1) - 1).clamp(min=0)
        index = last.view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
        return outputs.gather(1, index).squeeze(1)
