"""PyTorch networks of a :class:`~sknas.spaces.RecurrentCellSpace` architecture."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["SearchedCell", "RecurrentNetwork", "ACTIVATIONS"]

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
    """

    def __init__(self, genotype: Sequence[tuple[str, int]], n_features: int,
                 hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.genotype = [(str(a), int(p)) for a, p in genotype]
        self.w0 = nn.Linear(n_features + hidden_size, 2 * hidden_size, bias=False)
        self.ws = nn.ModuleList(
            nn.Linear(hidden_size, 2 * hidden_size, bias=False) for _ in self.genotype
        )

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        c0, h0 = self.w0(torch.cat([x, h], dim=-1)).chunk(2, dim=-1)
        states = [h + c0.sigmoid() * (h0.tanh() - h)]
        for (activation, source), w in zip(self.genotype, self.ws):
            s_prev = states[source]
            c, candidate = w(s_prev).chunk(2, dim=-1)
            states.append(s_prev + c.sigmoid() * (ACTIVATIONS[activation](candidate) - s_prev))
        return torch.stack(states[1:], dim=-1).mean(dim=-1)


class RecurrentNetwork(nn.Module):
    """A recurrent cell read over a sequence, then a linear head on its last state.

    The input is a flat batch ``(n, timesteps * n_features)`` reshaped to
    ``(n, timesteps, n_features)``. Timesteps whose features are all NaN are
    padding (a sequence shorter than the others): the state is carried over
    them unchanged, so the head reads each sequence's state after its own
    last timestep.

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
    """

    def __init__(self, cell_type: str, genotype: Sequence[tuple[str, int]], timesteps: int,
                 n_features: int, hidden_size: int, n_outputs: int) -> None:
        super().__init__()
        self.cell_type = cell_type
        self.shape = (int(timesteps), int(n_features))
        self.rnn: nn.Module
        if cell_type == "searched":
            self.rnn = SearchedCell(genotype, n_features, hidden_size)
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
            h = x.new_zeros(x.shape[0], self.hidden_size)
            for t in range(x.shape[1]):
                h = torch.where(present[:, t, None], self.rnn(x[:, t], h), h)
            return self.head(h)
        # Padding is trailing: the outputs before it do not depend on it.
        outputs, _ = self.rnn(x)
        last = (present.sum(dim=1) - 1).clamp(min=0)
        index = last.view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
        return self.head(outputs.gather(1, index).squeeze(1))
