"""Neural Architect: multi-objective policy-gradient search with a performance predictor.

Kim et al. (2017), "NEMO: Neuro-evolution with multiobjective optimization" and
"Neural Architect: a multi-objective neural architecture search with
performance prediction": a controller proposes networks, a predictor
estimates their performance so that the controller learns without training
them, and the reward combines that estimate with the resource cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sknas._optuna_compat import hypervolume
from sknas.samplers._base import _check_int, unseen
from sknas.samplers._pareto import ParetoHistory, ParetoSamplerBase, model_targets

if TYPE_CHECKING:  # pragma: no cover
    from sknas.samplers._base import Domain
    from sknas.spaces.base import SearchSpace

__all__ = ["NeuralArchitectSampler", "hypervolume_improvement"]


def hypervolume_improvement(
    front: np.ndarray, candidates: np.ndarray, reference: np.ndarray
) -> np.ndarray:
    """Hypervolume each candidate (losses) would add to ``front`` up to ``reference``.

    Parameters
    ----------
    front : numpy.ndarray of shape (n, d)
        Current non-dominated losses.
    candidates : numpy.ndarray of shape (m, d)
        Predicted losses.
    reference : numpy.ndarray of shape (d,)
        Reference point.

    Returns
    -------
    numpy.ndarray of shape (m,)

    Notes
    -----
    Two objectives are computed exactly and at once for every candidate (the
    area the candidate adds under the front's staircase); more objectives call
    Optuna's exact hypervolume once per candidate.

    Examples
    --------
    >>> front = np.array([[0.2, 0.8], [0.6, 0.4]])
    >>> hypervolume_improvement(front, np.array([[0.4, 0.6], [0.7, 0.9]]), np.ones(2))
    array([0.04, 0.  ])
    """
    front = np.asarray(front, dtype=float).reshape(-1, len(reference))
    candidates = np.asarray(candidates, dtype=float).reshape(-1, len(reference))
    reference = np.asarray(reference, dtype=float)
    if len(reference) == 2:
        return _improvement_2d(front, candidates, reference)
    base = hypervolume(front, reference)
    return np.array([hypervolume(np.vstack([front, c]), reference) - base for c in candidates])


def _improvement_2d(front: np.ndarray, candidates: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Exact two-objective hypervolume improvement of each candidate, vectorised."""
    front = front[np.all(front < reference, axis=1)]
    front = front[np.argsort(front[:, 0], kind="stable")]
    # The staircase: for x in [edges[i], edges[i + 1]) the front covers losses above
    # heights[i]; left of the first point nothing is covered (height = reference).
    heights = np.minimum.accumulate(np.concatenate([[reference[1]], front[:, 1]]))
    edges = np.concatenate([[-np.inf], front[:, 0], [reference[0]]])
    left = np.maximum(edges[None, :-1], candidates[:, :1])
    right = np.minimum(edges[None, 1:], reference[0])
    width = np.clip(right - left, 0.0, None)
    height = np.clip(heights[None, :] - candidates[:, 1:], 0.0, None)
    return np.asarray((width * height).sum(axis=1), dtype=float)


class NeuralArchitectSampler(ParetoSamplerBase):
    """Policy gradient on predicted rewards: performance estimate plus resource cost.

    For each proposal, one ridge regression per objective is fitted to the
    evaluated trials (on the space's encoding; costs on a log scale): the
    *performance predictor* and the *cost model*. A REINFORCE controller (the
    ``"independent"`` policy of :mod:`sknas.samplers._controller`, one
    categorical per parameter) is then trained for ``controller_steps``
    steps on predicted rewards only, no network is trained for it: the reward
    of a sampled architecture is the hypervolume its predicted objectives
    would add to the current Pareto front, which rewards accuracy and low cost
    together and favours gaps of the front. The proposal is the unseen
    candidate of highest predicted improvement among the controller's samples,
    the neighbours of the front's members and random architectures (the best
    predicted score when no candidate improves the front).

    The controller and predictors are rebuilt from the study's trials at every
    proposal (a few milliseconds each on NAS-Bench-201), so the sampler works
    across processes and on resume; infeasible trials (constraints) leave the
    front. A single-objective study makes it a predictor-guided search on
    the score.

    Parameters
    ----------
    n_candidates : int, default=100
        Random architectures added to the candidate pool.
    controller_steps : int, default=10
        REINFORCE steps per proposal (0 turns the controller off).
    controller_batch : int, default=8
        Architectures sampled per step.
    n_startup_trials : int, default=10
        Random proposals first.
    seed : int, optional
        Seed of every random choice.
    search_space : SearchSpace, optional
        Encoding, neighbours and sampling of architectures.

    Examples
    --------
    >>> import optuna
    >>> study = optuna.create_study(
    ...     directions=["maximize", "minimize"],
    ...     sampler=NeuralArchitectSampler(seed=0, n_startup_trials=5, controller_steps=2))
    >>> study.optimize(
    ...     lambda t: (t.suggest_int("x", 0, 9), t.suggest_int("x", 0, 9) ** 2), n_trials=8)
    >>> len(study.best_trials) > 0
    True
    """

    def __init__(
        self,
        *,
        n_candidates: int = 100,
        controller_steps: int = 10,
        controller_batch: int = 8,
        n_startup_trials: int = 10,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._n_candidates = _check_int("n_candidates", n_candidates, 0)
        self._controller_steps = _check_int("controller_steps", controller_steps, 0)
        self._controller_batch = _check_int("controller_batch", controller_batch, 1)
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, search_space=search_space)

    # -- predictors ------------------------------------------------------------------
    @staticmethod
    def _targets(losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Losses on the scale the predictors fit (log for positive costs), and that mask."""
        return model_targets(losses)

    def _predictor(self, domain: Domain, history: ParetoHistory) -> Any:
        from sklearn.linear_model import Ridge

        targets, logged = self._targets(history.losses)
        model = Ridge(alpha=1.0).fit(domain.encode_many(history.params), targets)

        def predict(params: list[dict[str, Any]]) -> np.ndarray:
            out = np.asarray(model.predict(domain.encode_many(params)), dtype=float)
            out = out.reshape(len(params), -1)
            out[:, logged] = np.exp(out[:, logged])
            return out

        return predict

    def _reward(self, history: ParetoHistory) -> Any:
        front = history.losses[history.front()]
        reference = np.array([
            float(np.median(history.losses[:, 0])),
            *(1.1 * history.losses[:, 1:].max(axis=0)),
        ])
        if history.losses.shape[1] == 1:
            return lambda predicted: -predicted[:, 0]
        return lambda predicted: hypervolume_improvement(front, predicted, reference)

    # -- proposal --------------------------------------------------------------------
    def _choose(
        self, domain: Domain, history: ParetoHistory, rng: np.random.Generator, seed: int
    ) -> dict[str, Any]:
        predict = self._predictor(domain, history)
        reward = self._reward(history)
        pool: list[dict[str, Any]] = []
        for index in history.front():
            pool.extend(domain.neighbours(history.params[int(index)]))
        pool.extend(domain.sample(rng) for _ in range(self._n_candidates))
        pool.extend(self._controller_samples(domain, predict, reward, seed, rng))
        pool = unseen(domain, pool, history.seen)
        if not pool:
            return domain.sample(rng)
        predicted = predict(pool)
        gains = reward(predicted)
        if np.max(gains) <= 0:
            gains = -predicted[:, 0]  # nothing improves the front: the best predicted score
        best = np.flatnonzero(gains >= np.max(gains) - 1e-12)
        return pool[int(rng.choice(best))]

    def _controller_samples(
        self, domain: Domain, predict: Any, reward: Any, seed: int, rng: np.random.Generator
    ) -> list[dict[str, Any]]:
        """Train a controller on predicted rewards; return what it samples along the way."""
        if self._controller_steps == 0:
            return []
        import torch

        from sknas.samplers._choices import ChoiceSpace
        from sknas.samplers._controller import Controller
        from sknas.utils._threads import torch_threads

        choices = ChoiceSpace(domain.distributions, 10)
        controller = Controller(choices.sizes, "independent", 1, seed % 2**31, 0.1)
        drawn: list[dict[str, Any]] = []
        with torch_threads(1), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed % 2**31)
            for _ in range(self._controller_steps):
                actions = [controller.sample() for _ in range(self._controller_batch)]
                params = [choices.to_params(a, rng) for a in actions]
                rewards = np.asarray(reward(predict(params)), dtype=float)
                scale = rewards.std() or 1.0
                for a, r in zip(actions, rewards):
                    controller.step(a, float((r - rewards.mean()) / scale), 0.0)
                drawn.extend(params)
        return drawn
