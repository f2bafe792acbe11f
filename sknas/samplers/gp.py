"""Gaussian-process Bayesian optimisation over architectures (BoTorch / GPyTorch)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import CategoricalDistribution

from sknas.samplers._base import (
    Domain,
    History,
    NASSamplerBase,
    _check_choice,
    _check_floor,
    _check_int,
    candidate_pool,
    floor_scores,
)
from sknas.spaces.encoding import _to_unit
from sknas.utils._threads import torch_threads

if TYPE_CHECKING:  # pragma: no cover
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from sknas.spaces.base import SearchSpace

__all__ = ["GPBOSampler"]

logger = logging.getLogger(__name__)


def _features(domain: Domain, params_list: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Choice index of each categorical, [0, 1]-scaled value of each numeric parameter."""
    rows = []
    for params in params_list:
        row = []
        for name, dist in domain.distributions.items():
            value = params[name]
            if isinstance(dist, CategoricalDistribution):
                row.append(float(dist.to_internal_repr(value)))
            else:
                log = bool(getattr(dist, "log", False)) and dist.low > 0  # type: ignore[attr-defined]
                row.append(_to_unit(float(value), dist.low, dist.high, log))  # type: ignore[attr-defined]
        rows.append(row)
    return np.asarray(rows, dtype=float)


class GPBOSampler(NASSamplerBase):
    """GP-BO: a Gaussian process on architectures with noisy expected improvement.

    A GP (BoTorch ``SingleTaskGP``, outcomes standardised) is fitted by
    maximum marginal likelihood to the finished trials. With
    ``kernel="categorical"`` (default) each architecture is its vector of
    choices and the covariance decays with the (ARD-weighted) number of
    differing choices (a Hamming kernel, BoTorch's ``CategoricalKernel``);
    numeric parameters, where there are any, get a Matern kernel
    (``MixedSingleTaskGP``). With ``kernel="encoding"`` a Matern-5/2 ARD kernel
    works on the search space's encoding (path encoding where offered, else
    one-hot).

    With ``score_floor="median"`` the GP is fitted to the scores with those
    below their median raised to it (the floor that helps local search and
    REINFORCE); by default it sees the scores as they are, which measured
    better for GP-BO on NAS-Bench-201.

    The next proposal maximises ``qLogNoisyExpectedImprovement`` over a pool of
    unseen candidates: mutations of the ``n_parents`` best architectures plus
    ``n_random`` random ones. Running trials of other workers are passed as
    ``X_pending``, so parallel workers propose different architectures.

    Parameters
    ----------
    kernel : {"categorical", "encoding"}, default="categorical"
        Covariance on architectures.
    n_candidates : int, default=100
        Mutations of the best architectures in the pool.
    n_parents : int, default=10
        Best architectures that are mutated.
    n_random : int, default=50
        Random architectures in the pool.
    neighbours : bool, default=True
        Also put every unseen one-change neighbour of the parents in the pool
        (``search_space.neighbours``; only with a search space).
    n_mc_samples : int, default=64
        Quasi-Monte-Carlo samples of the acquisition.
    fit_maxiter : int, default=20
        L-BFGS iterations of the marginal-likelihood fit (kept small so a
        proposal stays well under a second after hundreds of trials).
    score_floor : {"median", None}, default=None
        Raise the scores below their median to it before fitting (None: fit
        the scores as they are).
    n_startup_trials : int, default=10
        Random trials before the GP is used.
    seed : int, optional
        Seed of the pool, the QMC samples and the fitting.
    search_space : SearchSpace, optional
        Architecture-aware mutation and encodings.

    Examples
    --------
    >>> import optuna
    >>> sampler = GPBOSampler(n_candidates=20, n_startup_trials=4, seed=0)
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(lambda t: (t.suggest_int("x", 0, 20) - 7) ** 2, n_trials=8)
    >>> len(study.trials)
    8
    """

    def __init__(
        self,
        *,
        kernel: str = "categorical",
        n_candidates: int = 100,
        n_parents: int = 10,
        n_random: int = 50,
        neighbours: bool = True,
        n_mc_samples: int = 64,
        fit_maxiter: int = 20,
        score_floor: str | None = None,
        n_startup_trials: int = 10,
        seed: int | None = None,
        search_space: SearchSpace | None = None,
    ) -> None:
        self._kernel = _check_choice("kernel", kernel, ("categorical", "encoding"))
        self._n_candidates = _check_int("n_candidates", n_candidates, 1)
        self._n_parents = _check_int("n_parents", n_parents, 1)
        self._n_random = _check_int("n_random", n_random, 0)
        self._neighbours = bool(neighbours)
        self._n_mc_samples = _check_int("n_mc_samples", n_mc_samples, 1)
        self._fit_maxiter = _check_int("fit_maxiter", fit_maxiter, 1)
        self._score_floor = _check_floor("score_floor", score_floor)
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, search_space=search_space)

    def _encoding(self) -> str:
        space = self._search_space
        return "path" if space is not None and "path" in space.encodings else "onehot"

    def _inputs(self, domain: Domain, params_list: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if self._kernel == "encoding":
            return domain.encode_many(params_list)
        return _features(domain, params_list)

    def _propose(
        self,
        study: Study,
        trial: FrozenTrial,
        domain: Domain,
        history: History,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        pool = candidate_pool(
            domain,
            history,
            rng,
            n_mutations=self._n_candidates,
            n_parents=self._n_parents,
            n_random=self._n_random,
            neighbours=self._neighbours,
        )
        scores = floor_scores(history.scores, self._score_floor)
        if len(pool) == 1 or float(np.ptp(scores)) == 0.0:
            return pool[int(rng.integers(len(pool)))]
        import torch

        seed = self._trial_seed(trial, salt=2)
        with torch_threads(1), torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed)  # inside fork_rng: the caller's RNG state is restored
            values = self._acquisition_values(domain, history, scores, pool, seed)
        return pool[int(np.argmax(values))]

    def _acquisition_values(
        self,
        domain: Domain,
        history: History,
        scores: np.ndarray,
        pool: list[dict[str, Any]],
        seed: int,
    ) -> np.ndarray:
        import torch
        from botorch.acquisition.logei import qLogNoisyExpectedImprovement
        from botorch.exceptions.errors import ModelFittingError
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import MixedSingleTaskGP, SingleTaskGP
        from botorch.models.kernels.categorical import CategoricalKernel
        from botorch.models.transforms.outcome import Standardize
        from botorch.sampling.normal import SobolQMCNormalSampler
        from gpytorch.kernels import ScaleKernel
        from gpytorch.mlls import ExactMarginalLogLikelihood
        from linear_operator.utils.errors import NotPSDError

        X = torch.as_tensor(self._inputs(domain, history.params), dtype=torch.float64)
        Y = torch.as_tensor(scores, dtype=torch.float64).unsqueeze(-1)
        model: Any
        if self._kernel == "encoding":
            model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=1))
        else:
            cat_dims = [
                i
                for i, dist in enumerate(domain.distributions.values())
                if isinstance(dist, CategoricalDistribution)
            ]
            if len(cat_dims) == X.shape[-1]:
                covar = ScaleKernel(CategoricalKernel(ard_num_dims=X.shape[-1]))
                model = SingleTaskGP(X, Y, covar_module=covar, outcome_transform=Standardize(m=1))
            elif cat_dims:
                model = MixedSingleTaskGP(
                    X, Y, cat_dims=cat_dims, outcome_transform=Standardize(m=1)
                )
            else:
                model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=1))
        mll = ExactMarginalLogLikelihood(model.likelihood, model)
        try:
            fit_gpytorch_mll(
                mll,
                optimizer_kwargs={"options": {"maxiter": self._fit_maxiter}},
                max_attempts=1,
            )
        except (ModelFittingError, NotPSDError) as error:
            # the acquisition still ranks the pool, with the initial hyperparameters
            logger.warning("GP-BO: fitting the GP failed, initial hyperparameters kept: %s", error)
        pending = None
        if history.pending:
            pending = torch.as_tensor(self._inputs(domain, history.pending), dtype=torch.float64)
        acq = qLogNoisyExpectedImprovement(
            model,
            X_baseline=X,
            X_pending=pending,
            sampler=SobolQMCNormalSampler(torch.Size([self._n_mc_samples]), seed=seed % 2**31),
            prune_baseline=True,
        )
        candidates = torch.as_tensor(self._inputs(domain, pool), dtype=torch.float64)
        with torch.no_grad():
            values = torch.cat([acq(chunk.unsqueeze(1)) for chunk in candidates.split(256)])
        return values.numpy()
