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
from sknas.samplers._ensemble import torch_single_thread

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from optuna.study import Study

    from sknas.spaces.base import SearchSpace

__all__ = ["ReinforceSampler"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class _Controller:
    """The policy: an LSTM over the decisions, or independent softmaxes (torch)."""

    def __init__(self, sizes: list[int], kind: str, hidden: int, seed: int, lr: float) -> None:
        import torch

        init = np.random.default_rng(seed)
        self.sizes = sizes
        self.kind = kind
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        total = int(self.offsets[-1])

        def uniform(*shape: int) -> np.ndarray:
            return init.uniform(-0.1, 0.1, size=shape)

        if kind == "lstm":
            self.arrays = {
                "embed": uniform(total + 1, hidden),
                "w_ih": uniform(4 * hidden, hidden),
                "w_hh": uniform(4 * hidden, hidden),
                "bias": uniform(4 * hidden),
                "head_w": uniform(total, hidden),
                "head_b": np.zeros(total),
            }
        else:
            self.arrays = {"logits": np.zeros(total)}
        # the tensors share memory with the arrays: numpy updates are seen by torch
        self.params = {
            name: torch.from_numpy(arr).requires_grad_(True) for name, arr in self.arrays.items()
        }
        self.hidden = hidden
        self.lr = lr
        self.n_steps = 0
        self.moments = {
            name: (np.zeros_like(arr), np.zeros_like(arr)) for name, arr in self.arrays.items()
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["params"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import torch

        self.__dict__.update(state)
        self.params = {
            name: torch.from_numpy(arr).requires_grad_(True) for name, arr in self.arrays.items()
        }

    def adam_step(self, loss: torch.Tensor) -> None:
        """One Adam step (betas 0.9, 0.999) on ``loss``."""
        import torch

        grads = torch.autograd.grad(loss, list(self.params.values()), allow_unused=True)
        self.n_steps += 1
        for (name, arr), grad in zip(self.arrays.items(), grads):
            if grad is None:
                continue
            g = grad.numpy()
            m, v = self.moments[name]
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            m_hat = m / (1 - 0.9**self.n_steps)
            v_hat = v / (1 - 0.999**self.n_steps)
            arr -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)

    def sample(self, rng: np.random.Generator) -> list[int]:
        """Draw one decision per parameter from the policy (numpy, no autograd)."""
        a = self.arrays
        taken: list[int] = []
        if self.kind == "lstm":
            h = np.zeros(self.hidden)
            c = np.zeros(self.hidden)
            x = a["embed"][-1]
        for k, size in enumerate(self.sizes):
            lo, hi = int(self.offsets[k]), int(self.offsets[k + 1])
            if self.kind == "lstm":
                gates = a["w_ih"] @ x + a["w_hh"] @ h + a["bias"]
                i, f, g, o = np.split(gates, 4)
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
                logits = a["head_w"][lo:hi] @ h + a["head_b"][lo:hi]
            else:
                logits = a["logits"][lo:hi]
            probs = np.exp(logits - logits.max())
            action = int(rng.choice(size, p=probs / probs.sum()))
            taken.append(action)
            if self.kind == "lstm":
                x = a["embed"][lo + action]
        return taken

    def score(self, actions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability of ``actions`` and the policy's entropy along them."""
        import torch

        p = self.params
        logp = torch.zeros((), dtype=torch.float64)
        entropy = torch.zeros((), dtype=torch.float64)
        if self.kind == "lstm":
            h = torch.zeros(self.hidden, dtype=torch.float64)
            c = torch.zeros(self.hidden, dtype=torch.float64)
            x = p["embed"][-1]
        for k in range(len(self.sizes)):
            lo, hi = int(self.offsets[k]), int(self.offsets[k + 1])
            if self.kind == "lstm":
                gates = p["w_ih"] @ x + p["w_hh"] @ h + p["bias"]
                i, f, g, o = gates.chunk(4)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                logits = p["head_w"][lo:hi] @ h + p["head_b"][lo:hi]
            else:
                logits = p["logits"][lo:hi]
            log_probs = torch.log_softmax(logits, dim=0)
            action = actions[k]
            logp = logp + log_probs[action]
            entropy = entropy - (log_probs.exp() * log_probs).sum()
            if self.kind == "lstm":
                x = p["embed"][lo + action]
        return logp, entropy


class _State:
    """Controller, baseline and reward statistics after a prefix of the trials."""

    def __init__(self, key: Hashable, controller: _Controller) -> None:
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
    reward_floor : {"median", None}, default="median"
        With ``"median"``, a value below the median of the values seen so far
        is raised to that median before it becomes a reward: the policy learns
        what makes an architecture good rather than how bad the broken ones
        are (on NAS-Bench-201 a cell without a path to the output scores
        about 10 %, a good one 85 %). None uses the values as they are.
    entropy_weight : float, default=1e-3
        Weight of the entropy bonus.
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
        seed = int(np.random.SeedSequence([self._base_seed, 7]).generate_state(1)[0])
        controller = _Controller(
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
        logp, entropy = state.controller.score(indices)
        loss = -scaled * logp - self._entropy_weight * entropy
        state.controller.adam_step(loss)

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
        choices = ChoiceSpace(domain.distributions, self._n_bins)
        with self._lock, torch_single_thread():
            state = self._update(study, domain, choices)
            return draw_unseen(
                lambda: choices.to_params(state.controller.sample(rng), rng),
                domain,
                history.seen,
                self._max_retries,
            )
