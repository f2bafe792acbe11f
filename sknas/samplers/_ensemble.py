"""An ensemble of small MLP regressors trained together (torch, batched over members)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["fit_predict_ensemble"]


def fit_predict_ensemble(
    X: np.ndarray,
    y: np.ndarray,
    X_new: np.ndarray,
    *,
    n_models: int,
    hidden_size: int,
    n_layers: int,
    n_epochs: int,
    learning_rate: float,
    seed: int,
) -> np.ndarray:
    """Train ``n_models`` MLPs on ``(X, y)`` and predict ``X_new`` with each.

    Every member has ``n_layers`` hidden ReLU layers of ``hidden_size`` units,
    its own initial weights, and is trained full-batch with Adam on the mean
    absolute error of the standardised targets (the loss BANANAS uses). The
    members are stacked along a leading axis and trained in one batched
    computation, so the cost grows slowly with ``n_models``. Only a local
    ``torch.Generator`` is used; the global RNG is untouched.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Encodings of the evaluated architectures.
    y : ndarray of shape (n_samples,)
        Their scores (larger is better).
    X_new : ndarray of shape (n_candidates, n_features)
        Encodings to predict.
    n_models, hidden_size, n_layers, n_epochs : int
        Size of the ensemble and of each member, and full-batch training steps.
    learning_rate : float
        Adam step size.
    seed : int
        Seed of the initial weights.

    Returns
    -------
    ndarray of shape (n_models, n_candidates)
        Predictions in the units of ``y``.
    """
    import torch

    gen = torch.Generator().manual_seed(int(seed) % (2**63))
    mean, std = float(np.mean(y)), float(np.std(y))
    std = std if std > 0 else 1.0
    xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor((y - mean) / std, dtype=torch.float32)
    sizes = [X.shape[1]] + [hidden_size] * n_layers + [1]
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(max(fan_in, 1))
        w = (torch.rand(n_models, fan_in, fan_out, generator=gen) * 2 - 1) * bound
        b = (torch.rand(n_models, 1, fan_out, generator=gen) * 2 - 1) * bound
        weights.append(w.requires_grad_(True))
        biases.append(b.requires_grad_(True))
    params = weights + biases

    def forward(x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(0).expand(n_models, -1, -1)
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            if i < len(weights) - 1:
                h = torch.relu(h)
        return h.squeeze(-1)

    optimizer = torch.optim.Adam(params, lr=learning_rate)
    for _ in range(n_epochs):
        optimizer.zero_grad()
        loss = (forward(xt) - yt).abs().mean() * n_models
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        pred = forward(torch.as_tensor(X_new, dtype=torch.float32)).numpy().astype(float)
    return pred * std + mean
