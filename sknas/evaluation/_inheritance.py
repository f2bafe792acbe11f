"""Weights of evaluated candidates, kept so that their morphed children inherit them."""

from __future__ import annotations

import copy
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["InheritedStart", "WeightCache", "plan_of", "wants_weights"]

#: Trial system attribute written by :class:`~sknas.samplers.morphism.MorphismSampler`.
MORPHISM_ATTR = "sknas:morphism"
#: Candidates whose weights are kept (the best ones by score): the climb's parents.
KEEP = 4


@dataclass
class _Entry:
    arch: Architecture
    score: float
    modules: list[Any] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)


@dataclass
class InheritedStart:
    """How a child starts: its modules per split, and the epochs they were trained."""

    parent: int
    names: list[str]
    modules: list[Any]
    epochs: list[int]
    max_epochs: int


def wants_weights(trial: Any) -> bool:
    """Whether the trial's sampler climbs by morphisms (then weights are kept)."""
    sampler = getattr(getattr(trial, "study", None), "sampler", None)
    return bool(getattr(sampler, "inherits_weights", False))


def plan_of(trial: Any) -> dict[str, Any] | None:
    """The morphism plan the sampler stored on ``trial``, if any."""
    from sknas._optuna_compat import storage_of, trial_id_of

    attrs = storage_of(trial.study).get_trial_system_attrs(trial_id_of(trial))
    plan = attrs.get(MORPHISM_ATTR)
    return plan if isinstance(plan, dict) else None


class WeightCache:
    """Trained modules of the best evaluated candidates, in this process.

    Keyed by study and trial number; only the :data:`KEEP` best candidates
    are kept, on the CPU.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[Hashable, int], _Entry] = {}

    def put(
        self, study: Hashable, number: int, arch: Architecture, score: float,
        modules: list[Any], epochs: list[int],
    ) -> None:
        """Keep the modules of trial ``number`` if it is among the best."""
        self._entries[(study, number)] = _Entry(arch, score, modules, epochs)
        ranked = sorted(self._entries, key=lambda k: -self._entries[k].score)
        for key in ranked[KEEP:]:
            del self._entries[key]

    def start(
        self, space: SearchSpace, study: Hashable, arch: Architecture, plan: dict[str, Any]
    ) -> InheritedStart | str:
        """The child's inherited modules, or why it starts from scratch."""
        from sknas.spaces.morphisms import MorphismError, apply_morphism

        parent = int(plan["parent"])
        entry = self._entries.get((study, parent))
        if entry is None:
            return f"scratch: the weights of trial {parent} are not in this process"
        modules = []
        steps = list(plan["steps"])
        try:
            for module in entry.modules:
                child_arch, child = entry.arch, copy.deepcopy(module)
                for step in steps:
                    child_arch, child = apply_morphism(space, child_arch, child, step)  # type: ignore[arg-type]
                modules.append(child)
        except MorphismError as error:
            return f"scratch: {error}"
        if child_arch.key() != arch.key():
            return "scratch: the recorded morphisms do not lead to this architecture"
        names = [str(step["op"]) for step in steps]
        return InheritedStart(parent, names, modules, list(entry.epochs), int(plan["epochs"]))
