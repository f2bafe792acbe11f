"""The one-shot methods: each is an edge mixer plus the hooks of its training rule.

Names (``strategy="darts"`` in the estimators) map to classes in
:data:`ONESHOT_STRATEGIES`; every class takes the parameters of
:class:`~sknas.oneshot.base.OneShotStrategy` and method-specific ``options``.
This module does not import torch at import time.
"""

from __future__ import annotations

import numpy as np

from sknas.oneshot.base import OneShotStrategy

__all__ = [
    "DARTS", "SNAS", "GDAS", "PCDARTS", "DrNAS", "DARTSPT", "FairDARTS", "SDARTS",
    "RobustDARTS", "RSWS", "ENAS", "ProxylessNAS", "FBNet", "ONESHOT_STRATEGIES",
]


class DARTS(OneShotStrategy):
    """DARTS (Liu et al., 2019): softmax-mixed edges, bilevel gradient descent.

    Options: ``order`` (1: first-order, alternating steps; 2: the gradient
    through one virtual weight step, default 1).
    """

    name = "darts"
    option_defaults = {"order": 1}

    def arch_step(self, loop, xv, yv, xt, yt):  # noqa: D102
        if int(self.option("order")) == 2:
            return loop.second_order_arch_step(xv, yv, xt, yt)
        return loop.first_order_arch_step(xv, yv)


class _CostMixin:
    """Adds ``cost_weight * expected cost`` to the architecture loss (resource/latency term).

    The cost of each choice comes from :func:`sknas.oneshot.costs.op_costs`
    (the stand-in latency model: parameter count of each candidate module,
    normalised by the costliest cell), or from the supernet's own
    ``expected_cost()`` where it has one (the mobile space: a lookup table of
    measured block latencies).
    """

    def arch_loss(self, net, loss):  # noqa: D102
        from sknas.oneshot.costs import expected_cost

        weight = float(self.option("cost_weight"))  # type: ignore[attr-defined]
        return loss + weight * expected_cost(net) if weight else loss


class SNAS(_CostMixin, OneShotStrategy):
    """SNAS (Xie et al., 2019): soft Gumbel-softmax samples, a resource term.

    Options: ``cost_weight`` (weight of the expected parameter cost, default 0.01).
    """

    name = "snas"
    mixer = "gumbel"
    defaults = {"temperature": (1.0, 0.2)}
    option_defaults = {"cost_weight": 0.01}


class GDAS(OneShotStrategy):
    """GDAS (Dong & Yang, 2019): one op per edge by hard Gumbel-max, straight-through.

    The temperature falls linearly from 10 to 0.1 over the epochs, as in
    GDAS' NAS-Bench-201 search.
    """

    name = "gdas"
    mixer = "gumbel_hard"
    defaults = {"temperature": (10.0, 0.1)}
    temperature_schedule = "linear"


class PCDARTS(OneShotStrategy):
    """PC-DARTS (Xu et al., 2020): partial channels (1/4) and edge normalisation.

    The weights warm up alone for the first 30% of the epochs (15 of 50 in
    the paper).
    """

    name = "pc_darts"
    mixer = "partial_channel"
    warmup_fraction = 0.3


class DrNAS(OneShotStrategy):
    """DrNAS (Chen et al., 2021): edge weights drawn from a learned Dirichlet.

    Follows the progressive schedule of DrNAS' NAS-Bench-201 search: the
    epochs form two stages (halves); each stage begins with weight-only
    warm-up epochs (``warmup_epochs`` per stage; by default 20% of a stage,
    10 of 50 in the paper), and after the first stage each edge keeps only
    its ``keep`` operations of highest concentration (the kept Dirichlet
    weights are renormalised). The paper's partial channels (1/4, then 1/2)
    save GPU memory and are not used: every channel is mixed throughout.

    The concentration is ``elu(alpha) + 1``; its anchor towards 1 (DrNAS'
    ``l2`` regulariser) is the architecture optimiser's weight decay (1e-3,
    ``alpha`` towards 0), as in DrNAS' code.

    Options: ``progressive`` (default True; False: one stage, no pruning),
    ``keep`` (operations per edge in the second stage, default 3),
    ``prior_weight`` (weight of an extra L2 penalty ``sum((conc - 1)^2)``,
    default 0).
    """

    name = "drnas"
    mixer = "dirichlet"
    warmup_fraction = 0.2
    option_defaults = {"prior_weight": 0.0, "progressive": True, "keep": 3}

    def stages(self) -> tuple[int, int]:
        """Epochs of the first and the second stage (the second is 0 without ``progressive``).

        Returns
        -------
        tuple of int
        """
        epochs = int(self.setting("epochs"))
        if not self.option("progressive") or epochs < 2:
            return epochs, 0
        first = (epochs + 1) // 2
        return first, epochs - first

    def default_warmup(self, epochs):  # noqa: D102
        return int(round(self.warmup_fraction * self.stages()[0]))

    def updates_arch(self, epoch):  # noqa: D102
        first = self.stages()[0]
        local = epoch if epoch < first else epoch - first
        return local >= int(self.setting("warmup_epochs"))

    def check(self):  # noqa: D102
        super().check()
        keep = self.option("keep")
        if not isinstance(keep, (int, np.integer)) or keep < 1:
            raise ValueError(f"DrNAS: options['keep'] must be an int >= 1, got {keep!r}.")

    def arch_loss(self, net, loss):  # noqa: D102
        weight = float(self.option("prior_weight"))
        if not weight:
            return loss
        import torch.nn.functional as F

        conc = F.elu(net.alphas) + 1.0
        return loss + weight * ((conc - 1.0) ** 2).sum()

    def end_epoch(self, loop, epoch, record):  # noqa: D102
        first, second = self.stages()
        if second and epoch == first - 1:
            from sknas.oneshot._selection import prune_edges

            record["pruned_to"] = prune_edges(loop.net, int(self.option("keep")))
        return False


class DARTSPT(DARTS):
    """DARTS-PT (Wang et al., 2021): DARTS training, selection by perturbation.

    After training, the edges are visited in a random order; on each, every
    operation is removed in turn and the operation whose removal costs the
    most validation accuracy is kept (the edge is then fixed to it).
    """

    name = "darts_pt"

    def derive(self, loop):  # noqa: D102
        from sknas.oneshot._selection import perturbation_selection

        return [perturbation_selection(loop)]


class FairDARTS(OneShotStrategy):
    """Fair DARTS (Chu et al., 2020): sigmoid weights and a zero-one loss.

    Options: ``zero_one_weight`` (weight of ``-mean((sigmoid(a) - 0.5)^2)``, default 10).
    """

    name = "fair_darts"
    mixer = "sigmoid"
    option_defaults = {"zero_one_weight": 10.0}

    def arch_loss(self, net, loss):  # noqa: D102
        import torch

        zero_one = -((torch.sigmoid(net.alphas) - 0.5) ** 2).mean()
        return loss + float(self.option("zero_one_weight")) * zero_one


class SDARTS(DARTS):
    """SDARTS-RS (Chen & Hsieh, 2020): weights trained under random alpha perturbations.

    Options: ``epsilon`` (half-width of the uniform noise added to the
    architecture parameters during each weight step, default 0.3), ``order``.
    """

    name = "sdarts"
    option_defaults = {"order": 1, "epsilon": 0.3}

    def before_weight_step(self, loop):  # noqa: D102
        from sknas.oneshot._selection import perturb_alphas

        perturb_alphas(loop, float(self.option("epsilon")))

    def after_weight_step(self, loop):  # noqa: D102
        from sknas.oneshot._selection import restore_alphas

        restore_alphas(loop)


class RobustDARTS(DARTS):
    """RobustDARTS (Zela et al., 2020): DARTS stopped early on the Hessian's top eigenvalue.

    After each epoch the dominant eigenvalue of the validation loss' Hessian
    in the architecture parameters is estimated (power iteration on
    autograd Hessian-vector products). When it grew by more than ``ratio``
    over ``window`` epochs, the search stops and the architecture parameters
    of ``window`` epochs earlier are restored.

    Options: ``window`` (default 2), ``ratio`` (default 1.3),
    ``power_iterations`` (default 10), ``order``.
    """

    name = "robust_darts"
    option_defaults = {"order": 1, "window": 2, "ratio": 1.3, "power_iterations": 10}

    def end_epoch(self, loop, epoch, record):  # noqa: D102
        from sknas.oneshot._selection import eigenvalue_early_stop

        return eigenvalue_early_stop(
            loop, record, int(self.option("window")), float(self.option("ratio")),
            int(self.option("power_iterations")),
        )


class RSWS(OneShotStrategy):
    """Random search with weight sharing (Li & Talwalkar, 2019).

    Each weight step trains one uniformly drawn cell; afterwards
    ``n_samples`` random cells are scored with the shared weights on the
    validation rows and ranked.

    Options: ``n_samples`` (default 100).
    """

    name = "rsws"
    mixer = "uniform"
    trains_arch = False
    option_defaults = {"n_samples": 100}

    def before_weight_step(self, loop):  # noqa: D102
        from sknas.oneshot._selection import fix_random_path

        fix_random_path(loop)

    def derive(self, loop):  # noqa: D102
        from sknas.oneshot._selection import rank_sampled

        loop.net.clear_fixed()
        return rank_sampled(loop, int(self.option("n_samples")), sampler=None)


class ENAS(OneShotStrategy):
    """ENAS (Pham et al., 2018): an LSTM controller samples the paths of a shared supernet.

    Each weight step trains a path the controller draws; after each epoch the
    controller takes ``controller_steps`` REINFORCE steps with the shared-weight
    validation accuracy of its paths as reward (moving-average baseline). The
    controller is :class:`sknas.samplers._controller.Controller`. Derivation:
    ``n_samples`` paths drawn from the controller, ranked by shared weights.

    Options: ``controller_steps`` (20), ``controller_lr`` (3.5e-3),
    ``entropy_weight`` (1e-4), ``n_samples`` (50).
    """

    name = "enas"
    mixer = "uniform"
    trains_arch = False
    option_defaults = {
        "controller_steps": 20, "controller_lr": 3.5e-3, "entropy_weight": 1e-4, "n_samples": 50,
    }

    def before_weight_step(self, loop):  # noqa: D102
        from sknas.oneshot._selection import controller, fix_path

        fix_path(loop, loop.net.path_indices(controller(loop, self).sample()))

    def end_epoch(self, loop, epoch, record):  # noqa: D102
        from sknas.oneshot._selection import train_controller

        record["controller_reward"] = train_controller(loop, self)
        return False

    def derive(self, loop):  # noqa: D102
        from sknas.oneshot._selection import controller, rank_sampled

        loop.net.clear_fixed()
        ctrl = controller(loop, self)
        return rank_sampled(
            loop, int(self.option("n_samples")),
            sampler=lambda: loop.net.path_indices(ctrl.sample()),
        )


class ProxylessNAS(_CostMixin, OneShotStrategy):
    """ProxylessNAS (Cai et al., 2019): binary gates (one path in memory), latency term.

    Options: ``cost_weight`` (weight of the expected cost, default 0.1).
    """

    name = "proxyless"
    mixer = "binary_gate"
    option_defaults = {"cost_weight": 0.1}

    def arch_step(self, loop, xv, yv, xt, yt):  # noqa: D102
        loop.net.mixer.arch_step = True
        try:
            return loop.first_order_arch_step(xv, yv)
        finally:
            loop.net.mixer.arch_step = False


class FBNet(_CostMixin, OneShotStrategy):
    """FBNet (Wu et al., 2019): Gumbel-softmax with a latency-table term in the loss.

    Options: ``cost_weight`` (weight of the expected cost, default 0.1).
    """

    name = "fbnet"
    mixer = "gumbel"
    defaults = {"temperature": (5.0, 0.5)}
    option_defaults = {"cost_weight": 0.1}


#: Strategy names and their classes.
ONESHOT_STRATEGIES: dict[str, type[OneShotStrategy]] = {
    cls.name: cls
    for cls in (
        DARTS, SNAS, GDAS, PCDARTS, DrNAS, DARTSPT, FairDARTS, SDARTS, RobustDARTS, RSWS,
        ENAS, ProxylessNAS, FBNet,
    )
}

