"""The supernet training loop shared by every one-shot method (imports torch)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from sknas.evaluation.training import torch_threads
from sknas.oneshot.base import OneShotResult, OneShotStrategy, SearchData
from sknas.oneshot.supernet import Supernet, build_supernet
from sknas.spaces.base import SearchSpace

__all__ = ["SearchLoop", "run_search_loop"]

#: Rows of the validation set that scoring a fixed cell with shared weights reads.
SCORE_ROWS = 512


class SearchLoop:
    """State of one supernet search: the network, its optimisers, the data.

    Methods here are the building blocks the strategies' hooks call.
    """

    def __init__(self, strategy: OneShotStrategy, space: SearchSpace, data: SearchData) -> None:
        self.strategy = strategy
        self.data = data
        self.device = torch.device(data.device)
        self.rng = np.random.default_rng(data.seed)
        n_features = data.X_train.shape[1]
        self.net: Supernet = build_supernet(space, n_features, data.n_outputs, strategy.mixer)
        self.net.to(self.device)
        self.space = space
        w_lr = float(strategy.setting("w_lr"))
        self.w_opt = torch.optim.SGD(
            self.net.weight_parameters(), lr=w_lr, momentum=0.9, weight_decay=3e-4
        )
        epochs = int(strategy.setting("epochs"))
        self.w_sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.w_opt, T_max=epochs, eta_min=w_lr / 25
        )
        self.a_opt = torch.optim.Adam(
            self.net.arch_parameters(), lr=float(strategy.setting("a_lr")),
            betas=(0.5, 0.999), weight_decay=1e-3,
        )
        self.Xt, self.yt = self._tensors(data.X_train, data.y_train)
        self.Xv, self.yv = self._tensors(data.X_valid, data.y_valid)
        self.batch_size = int(strategy.setting("batch_size"))
        self.state: dict[str, Any] = {}  # per-method state (controller, snapshots)

    def _tensors(self, X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device)
        if self.data.task == "classification":
            yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=self.device)
        else:
            yt = torch.as_tensor(np.asarray(y, dtype=np.float32), device=self.device)
            if yt.ndim == 1:
                yt = yt[:, None]
        return Xt, yt

    # -- losses and scores -----------------------------------------------------------
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (classification) or mean squared error (regression)."""
        if self.data.task == "classification":
            return F.cross_entropy(out, y)
        return F.mse_loss(out, y)

    def batches(self, n: int) -> list[np.ndarray]:
        """A shuffled pass over ``n`` rows in batches."""
        order = self.rng.permutation(n)
        return [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]

    def valid_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch of validation rows."""
        n = len(self.Xv)
        idx = self.rng.choice(n, size=min(self.batch_size, n), replace=False)
        return self.Xv[idx], self.yv[idx]

    def score(self, indices: list[int] | None = None, rows: int = SCORE_ROWS) -> float:
        """Validation accuracy (minus MSE for regression) of the supernet in eval mode.

        With ``indices`` the cell is fixed to those choices (shared weights);
        the first ``rows`` validation rows are read.
        """
        net = self.net
        saved = list(net.fixed)
        if indices is not None:
            net.set_fixed(indices)
        net.eval()
        try:
            with torch.no_grad():
                out = net(self.Xv[:rows])
                y = self.yv[:rows]
                if self.data.task == "classification":
                    return float((out.argmax(1) == y).float().mean())
                return -float(F.mse_loss(out, y))
        finally:
            net.train()
            net.fixed = saved

    # -- steps -----------------------------------------------------------------------
    def weight_step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One SGD step of the weights on a training batch (gradient norm clipped at 5)."""
        self.w_opt.zero_grad()
        loss = self.loss(self.net(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.weight_parameters(), 5.0)
        self.w_opt.step()
        return float(loss.detach())

    def first_order_arch_step(self, xv: torch.Tensor, yv: torch.Tensor) -> float:
        """One Adam step of the architecture on the validation loss at the current weights."""
        self.a_opt.zero_grad()
        loss = self.strategy.arch_loss(self.net, self.loss(self.net(xv), yv))
        loss.backward(inputs=self.net.arch_parameters())
        self.a_opt.step()
        return float(loss.detach())

    def second_order_arch_step(
        self, xv: torch.Tensor, yv: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor
    ) -> float:
        """DARTS' second-order step: the validation loss after one virtual weight step.

        The gradient of ``L_val(w - xi * grad_w L_train(w, a), a)`` with respect
        to ``a`` is taken exactly by autograd through the virtual step
        (DARTS approximates its Hessian-vector product by finite differences);
        ``xi`` is the weights' current step size.
        """
        net = self.net
        names = [n for n, p in net.named_parameters() if n not in ("alphas", "betas")]
        weights = [p for n, p in net.named_parameters() if n not in ("alphas", "betas")]
        xi = self.w_opt.param_groups[0]["lr"]
        train_loss = self.loss(net(xt), yt)
        grads = torch.autograd.grad(train_loss, weights, create_graph=True, allow_unused=True)
        virtual = {
            n: w - xi * g if g is not None else w for n, w, g in zip(names, weights, grads)
        }
        for name, param in net.named_parameters():
            if name in ("alphas", "betas"):
                virtual[name] = param
        self.a_opt.zero_grad()
        out = functional_call(net, virtual, (xv,))
        loss = self.strategy.arch_loss(net, self.loss(out, yv))
        loss.backward(inputs=net.arch_parameters())
        self.a_opt.step()
        for w in weights:  # the weight gradients of the virtual step are not the weights'
            w.grad = None
        return float(loss.detach())

    def hessian_eigenvalue(self, n_iter: int) -> float:
        """Dominant eigenvalue of the validation loss' Hessian in ``alphas`` (power iteration).

        Hessian-vector products come from double backward through autograd
        (RobustDARTS' early-stopping signal). Computed on one validation batch.
        """
        xv, yv = self.valid_batch()
        alphas = self.net.alphas
        loss = self.loss(self.net(xv), yv)
        (grad,) = torch.autograd.grad(loss, alphas, create_graph=True)
        gen = torch.Generator(device="cpu").manual_seed(int(self.rng.integers(2**31)))
        v = torch.randn(alphas.shape, generator=gen).to(alphas)
        v = v / v.norm()
        eig = 0.0
        for _ in range(n_iter):
            (hv,) = torch.autograd.grad(grad, alphas, grad_outputs=v, retain_graph=True)
            eig = float((hv * v).sum())
            norm = hv.norm()
            if norm == 0:
                break
            v = hv / norm
        return eig


def run_search_loop(
    strategy: OneShotStrategy, space: SearchSpace, data: SearchData
) -> OneShotResult:
    """Train the supernet with ``strategy``'s hooks and derive its architecture(s).

    Parameters
    ----------
    strategy : OneShotStrategy
    space : SearchSpace
    data : SearchData

    Returns
    -------
    OneShotResult
    """
    devices = [torch.device(data.device).index or 0] if "cuda" in str(data.device) else []
    with torch_threads(data.n_threads), torch.random.fork_rng(devices=devices):
        torch.manual_seed(data.seed)
        loop = SearchLoop(strategy, space, data)
        history, stopped = _train(loop)
        ranked = strategy.derive(loop)
        loop.net.eval()
    n_keep = int(strategy.setting("n_candidates"))
    candidates = [loop.net.to_params(indices) for indices in ranked[:n_keep]]
    return OneShotResult(
        candidates=candidates,
        history=history,
        search_time=0.0,
        stopped=stopped,
        supernet=loop.net,
        extras=dict(loop.state.get("extras", {})),
    )


def _train(loop: SearchLoop) -> tuple[list[dict[str, Any]], str]:
    strategy, net, data = loop.strategy, loop.net, loop.data
    history: list[dict[str, Any]] = []
    epochs = int(strategy.setting("epochs"))
    net.train()
    for epoch in range(epochs):
        net.mixer.temperature = strategy.temperature_at(epoch)
        train_losses, valid_losses = [], []
        for batch in loop.batches(len(loop.Xt)):
            if data.deadline is not None and time.time() >= data.deadline:
                return history, "deadline"
            xt, yt = loop.Xt[batch], loop.yt[batch]
            if strategy.updates_arch(epoch):
                xv, yv = loop.valid_batch()
                value = strategy.arch_step(loop, xv, yv, xt, yt)
                if value is not None:
                    valid_losses.append(value)
            strategy.before_weight_step(loop)
            train_losses.append(loop.weight_step(xt, yt))
            strategy.after_weight_step(loop)
        loop.w_sched.step()
        record: dict[str, Any] = {
            "epoch": epoch,
            "weights": np.round(net.probabilities(), 6).tolist(),
            "train_loss": float(np.mean(train_losses)) if train_losses else None,
            "valid_loss": float(np.mean(valid_losses)) if valid_losses else None,
            "temperature": float(net.mixer.temperature),
        }
        stop = strategy.end_epoch(loop, epoch, record)
        history.append(record)
        if stop:
            return history, "early_stop"
    return history, "epochs"
