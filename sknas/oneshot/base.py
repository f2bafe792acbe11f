"""The one-shot strategy base class: one training loop, hooks per method.

:class:`OneShotStrategy` trains a supernet of the search space: weight steps
on batches of the training rows, architecture steps on batches of the
validation rows (the bilevel setting of DARTS), then reads the architecture
off it. A method is a mixer (class attribute ``mixer``) plus the hooks it
overrides; :mod:`sknas.oneshot.strategies` holds the methods.

This module does not import torch at import time (estimators validate their
``strategy`` against :class:`OneShotStrategy`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator

from sknas.spaces.base import SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from sknas.oneshot.supernet import Supernet

__all__ = ["OneShotStrategy", "OneShotResult", "SearchData"]


@dataclass
class SearchData:
    """Data and settings of one supernet search (prepared by the estimator or a script).

    Attributes
    ----------
    X_train, y_train, X_valid, y_valid : numpy.ndarray
        Weight rows and architecture rows (float32 inputs; int64 classes or
        float targets).
    n_outputs : int
        Classes (classification) or targets (regression).
    task : {"classification", "regression"}
    device : str
        Torch device.
    seed : int
        Seed of every random draw of the search.
    deadline : float, optional
        ``time.time()`` at which training stops and the architecture is read off.
    n_threads : int, optional
        Torch threads.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    n_outputs: int
    task: str = "classification"
    device: str = "cpu"
    seed: int = 0
    deadline: float | None = None
    n_threads: int | None = None


@dataclass
class OneShotResult:
    """What a one-shot search returns.

    Attributes
    ----------
    candidates : list of dict
        Parameter dicts of the derived architectures, best first.
    history : list of dict
        One entry per epoch: ``epoch``, ``weights`` (the mixer's weights per
        edge and choice, nested lists), ``train_loss``, ``valid_loss``, and
        method-specific entries (``temperature``, ``eigenvalue``, ...).
    search_time : float
        Seconds of supernet training and derivation.
    stopped : str
        ``"epochs"``, ``"deadline"`` or ``"early_stop"``.
    supernet : torch.nn.Module
        The trained supernet (not pickled with the estimator).
    extras : dict
        Method-specific results (e.g. shared-weight scores of sampled cells).
    """

    candidates: list[dict[str, Any]]
    history: list[dict[str, Any]]
    search_time: float
    stopped: str
    supernet: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


class OneShotStrategy(BaseEstimator):
    """Base class of one-shot (weight-sharing) strategies.

    Every parameter left at None takes the method's own default
    (:attr:`defaults`), so ``GDAS()`` and ``GDAS(epochs=None)`` are the same
    and ``get_params`` shows what the user chose.

    Parameters
    ----------
    epochs : int, optional
        Passes over the training rows.
    batch_size : int, optional
        Rows per step (weight and architecture batches alike).
    w_lr : float, optional
        Initial SGD step size of the weights (momentum 0.9, weight decay
        3e-4, cosine annealing to ``w_lr / 25``).
    a_lr : float, optional
        Adam step size of the architecture parameters (betas 0.5, 0.999,
        weight decay 1e-3).
    temperature : tuple of float, optional
        ``(start, end)`` of the temperature schedule over the epochs (Gumbel
        mixers): geometric, or linear for methods whose
        :attr:`temperature_schedule` is ``"linear"`` (GDAS).
    warmup_epochs : int, optional
        Epochs of weight training before architecture steps begin. The
        default is the method's :attr:`warmup_fraction` of ``epochs``
        (rounded): 0 for most methods, 0.3 for PC-DARTS (15 of its 50
        epochs) and 0.2 of each stage for DrNAS (10 of 50).
    n_candidates : int, optional
        Derived architectures handed to the estimator, best first (methods
        that rank sampled cells may return several).
    options : dict, optional
        Method-specific settings; each method lists its keys and defaults in
        :attr:`option_defaults` (an unknown key is refused).
    """

    #: Name of the edge mixer (see :data:`sknas.oneshot.mixers.MIXERS`).
    mixer: str = "softmax"
    #: Name under which the estimators know the method.
    name: str = "oneshot"
    #: Whether the method trains architecture parameters by gradient.
    trains_arch: bool = True
    #: Defaults of the parameters left at None.
    defaults: dict[str, Any] = {
        "epochs": 10,
        "batch_size": 64,
        "w_lr": 0.025,
        "a_lr": 3e-2,
        "temperature": (1.0, 1.0),
        "warmup_epochs": None,
        "n_candidates": 1,
    }
    #: Method-specific ``options`` keys and their defaults.
    option_defaults: dict[str, Any] = {}
    #: How the temperature goes from start to end: ``"geometric"`` or ``"linear"``.
    temperature_schedule: str = "geometric"
    #: Share of ``epochs`` spent warming up the weights when ``warmup_epochs`` is None.
    warmup_fraction: float = 0.0

    def __init__(
        self,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        w_lr: float | None = None,
        a_lr: float | None = None,
        temperature: tuple[float, float] | None = None,
        warmup_epochs: int | None = None,
        n_candidates: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.w_lr = w_lr
        self.a_lr = a_lr
        self.temperature = temperature
        self.warmup_epochs = warmup_epochs
        self.n_candidates = n_candidates
        self.options = options

    # -- settings --------------------------------------------------------------------
    def setting(self, name: str) -> Any:
        """The value of parameter ``name``, the method's default when it is None.

        Parameters
        ----------
        name : str

        Returns
        -------
        object
        """
        value = getattr(self, name)
        if value is not None:
            return value
        merged: dict[str, Any] = {}
        for cls in reversed(type(self).__mro__):
            merged.update(getattr(cls, "defaults", {}) or {})
        if name == "warmup_epochs" and merged[name] is None:
            return self.default_warmup(int(self.setting("epochs")))
        return merged[name]

    def default_warmup(self, epochs: int) -> int:
        """Warm-up epochs of a search of ``epochs`` epochs when ``warmup_epochs`` is None.

        Parameters
        ----------
        epochs : int

        Returns
        -------
        int
            ``round(warmup_fraction * epochs)``.
        """
        return int(round(self.warmup_fraction * epochs))

    def updates_arch(self, epoch: int) -> bool:
        """Whether architecture steps run in ``epoch`` (hook: after the warm-up by default).

        Parameters
        ----------
        epoch : int

        Returns
        -------
        bool
        """
        return self.trains_arch and epoch >= int(self.setting("warmup_epochs"))

    def option(self, name: str) -> Any:
        """The method-specific setting ``name``: from ``options``, else its default.

        Parameters
        ----------
        name : str

        Returns
        -------
        object
        """
        return (self.options or {}).get(name, self.option_defaults[name])

    def check(self) -> None:
        """Refuse invalid settings with a message naming the parameter.

        Raises
        ------
        ValueError
        """
        for name in ("epochs", "batch_size", "n_candidates"):
            value = self.setting(name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(
                    f"{type(self).__name__}: {name} must be an int >= 1, got {value!r}."
                )
        for name in ("w_lr", "a_lr"):
            value = self.setting(name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{type(self).__name__}: {name} must be > 0, got {value!r}.")
        temp = self.setting("temperature")
        if len(tuple(temp)) != 2 or min(temp) <= 0:
            raise ValueError(
                f"{type(self).__name__}: temperature must be (start, end) with both > 0, "
                f"got {temp!r}."
            )
        unknown = sorted(set(self.options or {}) - set(self.option_defaults))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown options {unknown}; this method knows "
                f"{sorted(self.option_defaults) or 'none'}."
            )
        warm = self.setting("warmup_epochs")
        if not isinstance(warm, (int, np.integer)) or warm < 0:
            raise ValueError(f"{type(self).__name__}: warmup_epochs must be an int >= 0.")

    def temperature_at(self, epoch: int) -> float:
        """The temperature of ``epoch`` on the method's (geometric or linear) schedule.

        Parameters
        ----------
        epoch : int

        Returns
        -------
        float
        """
        start, end = (float(v) for v in self.setting("temperature"))
        n = max(1, int(self.setting("epochs")) - 1)
        if self.temperature_schedule == "linear":
            return start + (end - start) * min(epoch, n) / n
        return start * (end / start) ** (min(epoch, n) / n)

    # -- the search ------------------------------------------------------------------
    def search(self, space: SearchSpace, data: SearchData) -> OneShotResult:
        """Train the supernet of ``space`` on ``data`` and derive the architecture(s).

        Parameters
        ----------
        space : SearchSpace
            A space that implements ``build_supernet``.
        data : SearchData
            The rows and settings.

        Returns
        -------
        OneShotResult
        """
        from sknas.oneshot._loop import run_search_loop

        self.check()
        start = time.perf_counter()
        result = run_search_loop(self, space, data)
        result.search_time = time.perf_counter() - start
        return result

    # -- hooks (torch objects; see sknas.oneshot._loop) ----------------------------------
    def arch_loss(self, net: Supernet, loss: torch.Tensor) -> torch.Tensor:
        """The architecture objective from the validation loss (hook: add penalties)."""
        return loss

    def arch_step(self, loop: Any, xv: torch.Tensor, yv: torch.Tensor, xt: torch.Tensor,
                  yt: torch.Tensor) -> float | None:
        """One architecture update; returns its validation loss (hook: first order)."""
        return loop.first_order_arch_step(xv, yv)

    def before_weight_step(self, loop: Any) -> None:
        """Called before each weight step (hook: fix a path, perturb alphas)."""

    def after_weight_step(self, loop: Any) -> None:
        """Called after each weight step (hook: undo a perturbation)."""

    def end_epoch(self, loop: Any, epoch: int, record: dict[str, Any]) -> bool:
        """Called after each epoch with its history record; True stops the search."""
        return False

    def derive(self, loop: Any) -> list[list[int]]:
        """The derived choice indices, best first (hook: argmax by default)."""
        return [loop.net.argmax_indices()]
