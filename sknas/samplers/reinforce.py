"""REINFORCE with a controller policy, Zoph & Le (ICLR 2017)."""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from sknas._optuna_compat import cached_trials, study_identity
from sknas.samplers._base import (
    Domain,
    History,
    NASSamplerBase,
    _check_choice,
    _check_float,
    _check_floor,
    _check_int,
    draw_unseen,
    floor_scores,
)
from sknas.samplers._choices import ChoiceSpace
from sknas.utils._threads import torch_threads

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study

    from sknas.samplers._controller import Controller
    from sknas.spaces.base import SearchSpace

__all__ = ["ReinforceSampler"]


class _State:
    """Controller, baseline and reward statistics after a prefix of the trials."""

    def __init__(self, key: Hashable, controller: Controller) -> None:
        self.key = key
        self.controller = controller
        self.next_number = 0
        self.fingerprint: tuple[Any, ...] | None = None
        self.baseline: float | None = None
        self.n_rewards = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.rewards: list[float] = []


class ReinforceSampler(NASSamplerBase):
    """REINFORCE: a controller policy trained by policy gradient on trial values.

    The controller emits one decision per parameter (an architecture's choices;
    numeric parameters are cut into ``n_bins`` bins). ``controller="lstm"`` is
    the recurrent controller of Zoph & Le (each decision is fed back as the
    next input); ``controller="independent"`` is one softmax per decision.

    After every finished trial the controller takes one policy-gradient step
    (Adam) on ``-advantage * log p(trial's choices) - entropy_weight *
    entropy``, where the advantage is the trial's reward minus an
    exponential moving-average baseline, divided by the standard deviation of
    the rewards seen so far (so the step size does not depend on the
    objective's scale), clipped to [-3, 3]. The reward is the trial's value
    (negated when minimising), raised to the median of the values seen so
    far when it is below it (``reward_floor``).

    Trials are used in trial-number order, up to the first one still running,
    so the controller is a function of the study's trials: the weights are
    kept as a cache, and rebuilding them by replaying the finished trials (a
    new process, an unpickled sampler, a resumed study) gives the same
    controller. FAIL, PRUNED and non-finite trials give no step.

    Parameters
    ----------
    controller : {"independent", "lstm"}, default="independent"
        The policy (``"independent"`` measured best on NAS-Bench-201 at 100-150
        trials; ``"lstm"`` is the paper's controller).
    hidden_size : int, default=32
        Width of the LSTM controller.
    learning_rate : float, optional
        Adam step size; None means 0.1 for ``"independent"``, 0.02 for ``"lstm"``.
    baseline_decay : float, default=0.9
        Decay of the moving-average baseline.
    entropy_weight : float, default=1e-3
        Weight of the entropy bonus.
    reward_floor : {"median", None}, default="median"
        With ``"median"``, a value below the median of the values seen so far
        is raised to that median before it becomes a reward: the policy learns
        what makes an architecture good rather than how bad the broken ones
        are (on NAS-Bench-201 a cell without a path to the output scores
        about 10 %, a good one 85 %). None uses the values as they are.
    n_bins : int, default=10
        Bins of numeric parameters.
    max_retries : int, default=20
        Policy samples tried to find an architecture not yet evaluated.
    n_startup_trials : int, default=1
        Random trials before the controller proposes (its initial policy is uniform anyway).
    seed : int, optional
        Seed of the controller's initial weights and of every sample.
    search_space : SearchSpace, optional
        Decodes proposals into architectures to recognise duplicates.

    Examples
    --------
    >>> import optuna
    >>> sampler = ReinforceSampler(controller="independent", seed=0)
    >>> study = optuna.create_study(sampler=sampler, direction="maximize")
    >>> study.optimize(lambda t: t.suggest_categorical("x", [0, 1, 2, 3]), n_trials=15)
    >>> study.best_value
    3.0
    """

    def __init__(
        self,
        *,
        controller: str = "independent",
        hidden_size: int = 32,
        learning_rate: float | None = None,
        baseline_decay: float = 0.9,
        entropy_weight: float = 1e-3,
        reward_floor: str | None = "median",
        n_bins: int = 10,
        max_retries: int = 20,
        n_startup_trials: int = 1,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._controller_kind = _check_choice("controller", controller, ("lstm", "independent"))
        self._hidden_size = _check_int("hidden_size", hidden_size, 1)
        if learning_rate is None:
            learning_rate = 0.1 if controller == "independent" else 0.02
        self._learning_rate = _check_float("learning_rate", learning_rate)
        self._baseline_decay = _check_float("baseline_decay", baseline_decay)
        if self._baseline_decay >= 1.0:
            raise ValueError(f"baseline_decay must be < 1; got {baseline_decay!r}.")
        self._entropy_weight = _check_float("entropy_weight", entropy_weight)
        self._reward_floor = _check_floor("reward_floor", reward_floor)
        self._n_bins = _check_int("n_bins", n_bins, 2)
        self._max_retries = _check_int("max_retries", max_retries, 0)
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, search_space=search_space)
        self._state: _State | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_state"] = None  # a cache: rebuilt by replaying the trials
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        """Draw fresh seeds; the controller is rebuilt from them."""
        super().reseed_rng()
        self._state = None

    # ------------------------------------------------------------------ training
    def _new_state(self, key: Hashable, choices: ChoiceSpace) -> _State:
        from sknas.samplers._controller import Controller

        seed = int(np.random.SeedSequence([self._base_seed, 7]).generate_state(1)[0])
        controller = Controller(
            choices.sizes, self._controller_kind, self._hidden_size, seed, self._learning_rate
        )
        return _State(key, controller)

    def _step(self, state: _State, indices: list[int], reward: float) -> None:
        if self._reward_floor is not None:
            state.rewards.append(reward)
            reward = float(floor_scores(np.asarray(state.rewards), self._reward_floor)[-1])
        if state.baseline is None:
            state.baseline = reward
        advantage = reward - state.baseline
        # Welford update of the reward spread, for a scale-free advantage
        state.n_rewards += 1
        delta = reward - state.mean
        state.mean += delta / state.n_rewards
        state.m2 += delta * (reward - state.mean)
        std = math.sqrt(state.m2 / state.n_rewards) if state.n_rewards > 1 else 0.0
        state.baseline = (
            self._baseline_decay * state.baseline + (1.0 - self._baseline_decay) * reward
        )
        scaled = float(np.clip(advantage / std, -3.0, 3.0)) if std > 0 else 0.0
        state.controller.step(indices, scaled, self._entropy_weight)

    @staticmethod
    def _fingerprint(trial: FrozenTrial) -> tuple[Any, ...]:
        return (trial.number, trial.state, trial.values, tuple(sorted(trial.params.items())))

    def _update(self, study: Study, domain: Domain, choices: ChoiceSpace) -> _State:
        sign = 1.0 if study.direction.name == "MAXIMIZE" else -1.0
        key = (*study_identity(study), repr(domain.distributions))
        trials = cached_trials(study)
        state = self._state
        if state is not None and (
            state.key != key
            or (
                state.fingerprint is not None
                and (
                    state.next_number > len(trials)
                    or self._fingerprint(trials[state.next_number - 1]) != state.fingerprint
                )
            )
        ):
            state = None
        if state is None:
            state = self._new_state(key, choices)
        for trial in trials[state.next_number :]:
            if trial.state in (TrialState.RUNNING, TrialState.WAITING):
                break
            state.next_number = trial.number + 1
            state.fingerprint = self._fingerprint(trial)
            if trial.state != TrialState.COMPLETE or trial.value is None:
                continue
            if not math.isfinite(trial.value) or not domain.valid(trial.params):
                continue
            self._step(state, choices.to_indices(trial.params), sign * float(trial.value))
        self._state = state
        return state

    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        import torch

        choices = ChoiceSpace(domain.distributions, self._n_bins)
        seed = int(rng.integers(2**63))
        with self._lock, torch_threads(1), torch.random.fork_rng(devices=[]):
            state = self._update(study, domain, choices)
            torch.manual_seed(seed)  # inside fork_rng: the caller's RNG state is restored
            return draw_unseen(
                lambda: choices.to_params(state.controller.sample(), rng),
                domain,
                history.seen,
                self._max_retries,
            )
