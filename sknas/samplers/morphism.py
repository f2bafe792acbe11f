"""Hill climbing by network morphisms with weight inheritance (NASH, Elsken et al. 2017)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sknas._optuna_compat import cached_trials, set_trial_system_attr
from sknas.evaluation._inheritance import MORPHISM_ATTR
from sknas.samplers._base import Domain, History, NASSamplerBase, _check_int, draw_unseen
from sknas.spaces.morphisms import MORPHISMS, MorphismError, plan_morphism

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from sknas.spaces.base import SearchSpace

__all__ = ["MorphismSampler", "MORPHISM_ATTR"]

class MorphismSampler(NASSamplerBase):
    """Hill climbing whose children are network morphisms of the best network.

    After ``n_startup_trials`` random architectures, every proposal is a child
    of the best finished trial: 1 to ``max_operators`` operators of
    :mod:`sknas.spaces.morphisms` (deepen, widen, skip), chosen at random among
    those that apply, each computing its parent's function. The parent's
    number, the planned steps and ``child_epochs`` are stored in the trial's
    ``"sknas:morphism"`` system attribute; the training evaluator then builds
    the child from its parent's trained weights and trains it for at most
    ``child_epochs`` epochs (Lamarckian inheritance). When the parent's weights
    are not at hand (another process, a resumed search) the child is trained
    from scratch, and the trial says so (user attribute ``warm_start``).

    When no operator applies to the best network (a TabM ensemble, the space's
    largest network), or every child is already known, the proposal is a
    mutation of it (:meth:`~sknas.spaces.SearchSpace.mutate`), trained from
    scratch; without an :class:`~sknas.spaces.MLPSpace` every proposal is
    such a mutation (plain hill climbing).

    The parent is found from the study's trials at every proposal, so the
    sampler works with any storage, across processes and on resume.

    Parameters
    ----------
    n_startup_trials : int, default=4
        Random architectures before climbing.
    max_operators : int, default=2
        Most operators applied to make one child.
    child_epochs : int, default=5
        Most epochs of training of a child that inherits its parent's weights.
    max_retries : int, default=20
        Children drawn to find one not yet evaluated.
    seed : int, optional
        Seed of every random choice; the same seed and history give the same proposal.
    search_space : SearchSpace, optional
        An :class:`~sknas.spaces.MLPSpace` enables the morphisms.

    Examples
    --------
    >>> import optuna
    >>> sampler = MorphismSampler(n_startup_trials=2, seed=0)
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(lambda t: (t.suggest_int("x", 0, 9) - 6) ** 2, n_trials=15)
    >>> study.best_value <= 1
    True
    """

    #: Tells the training evaluator to keep the weights of evaluated candidates.
    inherits_weights = True

    def __init__(
        self,
        *,
        n_startup_trials: int = 4,
        max_operators: int = 2,
        child_epochs: int = 5,
        max_retries: int = 20,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._max_operators = _check_int("max_operators", max_operators, 1)
        self._child_epochs = _check_int("child_epochs", child_epochs, 1)
        self._max_retries = _check_int("max_retries", max_retries, 0)
        super().__init__(
            seed=seed, n_startup_trials=n_startup_trials, search_space=search_space
        )

    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        best = int(np.argmax(history.scores))
        parent = history.params[best]
        if domain.space is not None and hasattr(domain.space, "layer_widths"):
            for _ in range(self._max_retries + 1):
                child = self._child(domain, parent, rng)
                if child is None:
                    break
                params, steps = child
                if domain.key(params) not in history.seen:
                    number = _original(study, history.numbers[best])
                    set_trial_system_attr(
                        study, trial, MORPHISM_ATTR,
                        {"parent": number, "steps": steps, "epochs": self._child_epochs},
                    )
                    return params
        return draw_unseen(
            lambda: domain.mutate(parent, rng), domain, history.seen, self._max_retries
        )

    def _child(
        self, domain: Domain, parent: dict[str, Any], rng: np.random.Generator
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """Parameters and steps of a random child, or None when no operator applies."""
        space: Any = domain.space
        arch = space.decode(parent)
        steps: list[dict[str, Any]] = []
        n_operators = int(rng.integers(1, self._max_operators + 1))
        for _ in range(n_operators):
            for name in rng.permutation(MORPHISMS):
                try:
                    arch, step = plan_morphism(space, arch, str(name), rng)
                except MorphismError:
                    continue
                steps.append(step)
                break
            else:
                break
        if not steps:
            return None
        return domain.restrict(space.to_params(arch)), steps


def _original(study: Study, number: int) -> int:
    """The trial that trained the network of trial ``number`` (a duplicate names it)."""
    for other in cached_trials(study):
        if other.number == number:
            return int(other.user_attrs.get("duplicate_of", number))
    return number
