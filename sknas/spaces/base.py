"""The search-space interface and the immutable :class:`Architecture` value."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution
from sklearn.base import BaseEstimator

from sknas._optuna_compat import distribution_contains
from sknas.spaces.encoding import (
    encode_params,
    mutate_params,
    neighbour_params,
    sample_params,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Architecture", "SearchSpace"]


@dataclass(frozen=True)
class Architecture:
    """One candidate network: the space's name and the parameters that produced it.

    An architecture is a plain value, never a ``torch.nn.Module``. Two
    architectures are equal when their spaces and canonical keys are equal, so
    duplicates (and, where the space knows them, isomorphic networks) compare
    equal and hash alike.

    Parameters
    ----------
    space : str
        Name of the search space that decoded it.
    items : tuple of (str, value) pairs
        The flat parameters, sorted by name.
    canonical : str
        The canonical key (for NAS-Bench-201 cells, the official ``arch_str``).
    description : str, default=""
        A human-readable summary.

    Examples
    --------
    >>> arch = Architecture.from_params("toy", {"b": 2, "a": 1}, canonical="a=1|b=2")
    >>> arch.params
    {'a': 1, 'b': 2}
    >>> arch.key()
    'a=1|b=2'
    """

    space: str
    items: tuple[tuple[str, Any], ...] = field(compare=False)
    canonical: str
    description: str = field(default="", compare=False)

    @classmethod
    def from_params(
        cls,
        space: str,
        params: Mapping[str, Any],
        *,
        canonical: str,
        description: str = "",
    ) -> Architecture:
        """Build an architecture from a parameter mapping.

        Parameters
        ----------
        space : str
            Name of the search space.
        params : mapping of str to value
            The flat parameters (stored sorted by name).
        canonical : str
            The canonical key.
        description : str, default=""
            A human-readable summary.

        Returns
        -------
        Architecture
        """
        return cls(space, tuple(sorted(params.items())), canonical, description)

    @property
    def params(self) -> dict[str, Any]:
        """The flat parameter dict (a fresh copy)."""
        return dict(self.items)

    def key(self) -> str:
        """Canonical, hashable identity of the network."""
        return self.canonical

    def __str__(self) -> str:
        return self.description or self.canonical


class SearchSpace(BaseEstimator):
    """Base class of search spaces: which networks can be built.

    A search space knows structure only. Subclasses define :meth:`distributions`,
    :meth:`decode` and :meth:`build_module`; the generic :meth:`sample`,
    :meth:`mutate`, :meth:`neighbours` and :meth:`encode` work from the
    distributions and may be overridden with architecture-aware versions.

    Optional hooks have defaults that subclasses override where they
    know better: :meth:`isomorphism_key` (architectures that compute the same
    function), :meth:`all_architectures` (enumerating a small, finite space),
    :meth:`training_config` (training choices that are part of the
    architecture), :meth:`for_refit` (a larger network for the refit) and
    :meth:`build_supernet` (the weight-sharing supernet of one-shot search;
    none by default). :class:`sknas.testing.SearchSpaceConformance` checks them.

    Search spaces are configurable objects (``get_params`` / ``set_params``),
    so an estimator's ``search_space__<param>`` can be tuned by ``GridSearchCV``.
    """

    #: Short name used in :class:`Architecture` and error messages.
    name: str = "space"
    #: Encodings :meth:`encode` understands.
    encodings: tuple[str, ...] = ("onehot",)
    #: Torch threads that train this space's networks best (None: torch's default).
    preferred_threads: int | None = None
    #: The strategy ``strategy="auto"`` picks for this space.
    default_strategy: str = "tpe"

    def distributions(self) -> dict[str, BaseDistribution]:
        """Flat, fixed-length dict of Optuna distributions, one per parameter."""
        raise NotImplementedError

    def decode(self, params: Mapping[str, Any]) -> Architecture:
        """Turn a full parameter dict into an :class:`Architecture`.

        Parameters
        ----------
        params : mapping of str to value
            A value for every parameter of :meth:`distributions`.

        Returns
        -------
        Architecture
        """
        raise NotImplementedError

    def build_module(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> torch.nn.Module:
        """Build the PyTorch module of ``arch`` (the only method that imports torch).

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        n_features_in : int
            Number of input features.
        n_outputs : int
            Number of outputs (classes for a classifier, targets for a regressor).

        Returns
        -------
        torch.nn.Module
        """
        raise NotImplementedError

    def for_refit(self) -> SearchSpace:
        """The space whose :meth:`build_module` builds the network refit on all the data.

        The estimators train candidates with this space's ``build_module``
        and refit the chosen architecture with ``for_refit().build_module``
        (a saved model is rebuilt the same way). The default is the space
        itself; a space that searches on a small proxy network and refits a
        larger one (:class:`~sknas.spaces.DARTSSpace`'s ``final_cells``)
        returns a copy configured for the large network.

        Returns
        -------
        SearchSpace
        """
        return self

    def build_supernet(self, n_features_in: int, n_outputs: int, mixer: Any) -> torch.nn.Module:
        """Optional hook: the weight-sharing supernet of this space (one-shot search).

        A space that implements it returns a
        :class:`sknas.oneshot.supernet.Supernet`: a module whose mixed edges
        stand for the space's categorical parameters and hold one candidate
        module per choice, combined by ``mixer``. One-shot strategies
        (``strategy="darts"``, ``"gdas"``, ...; see :mod:`sknas.oneshot`)
        need it; the base class has none.

        Parameters
        ----------
        n_features_in : int
            Number of input features.
        n_outputs : int
            Number of outputs.
        mixer : sknas.oneshot.mixers.EdgeMixer
            How each mixed edge combines its candidates.

        Returns
        -------
        torch.nn.Module

        Raises
        ------
        NotImplementedError
            When the space has no supernet.
        """
        raise NotImplementedError(f"{type(self).__name__} does not build a supernet.")

    def initial_params(self) -> list[dict[str, Any]]:
        """Parameter dicts of well-known networks to evaluate first (none by default).

        Estimators enqueue these as the first trials of a new study, so that a
        short search starts from a network known to work rather than from
        random draws alone.
        """
        return []

    def isomorphism_key(self, arch: Architecture) -> str:
        """A key shared by every architecture that computes the same function as ``arch``.

        Strategies skip a candidate whose isomorphism key belongs to an
        architecture already evaluated or running. The default is
        ``arch.key()`` (no two distinct architectures are isomorphic); a space
        whose cells can be isomorphic (NAS-Bench-201) overrides it.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        str
            Equal for equal architectures, and stable across calls and processes.
        """
        return arch.key()

    def all_architectures(self) -> Iterator[Architecture] | None:
        """Every architecture of the space, when the space can list itself.

        BANANAS scores the whole space instead of a mutation pool when this
        returns an iterator of at most ``max_pool_size`` architectures. The
        default returns None: the space is not enumerable (infinite, or too
        large to list).

        Returns
        -------
        iterator of Architecture or None
            Each architecture once, in a fixed order; None when not enumerable.
        """
        return None

    def training_config(self, arch: Architecture) -> dict[str, Any]:
        """Training choices that ``arch`` makes itself (none by default).

        The training evaluator fills in the keys not returned from
        :data:`sknas.evaluation.training.DEFAULT_TRAINING` (``lr``,
        ``weight_decay``, ``batch_size``, ``optimizer``, ``grad_clip``,
        ``patience_steps``); other keys are refused.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        dict
            A subset of the keys of ``DEFAULT_TRAINING`` with their values.
        """
        return {}

    def to_params(self, arch: Architecture) -> dict[str, Any]:
        """Inverse of :meth:`decode`: the full parameter dict of ``arch``.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        dict
        """
        return arch.params

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the first parameter missing or out of range.

        Parameters
        ----------
        params : mapping of str to value
            The parameters to check against :meth:`distributions`.
        """
        for name, dist in self.distributions().items():
            if name not in params:
                raise ValueError(f"{type(self).__name__}: parameter {name!r} is missing.")
            value = params[name]
            if not distribution_contains(dist, value):
                raise ValueError(
                    f"{type(self).__name__}: parameter {name!r}={value!r} is outside {dist!r}."
                )

    def sample(self, rng: np.random.Generator) -> Architecture:
        """Draw a random architecture.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Architecture
        """
        return self.decode(sample_params(self.distributions(), rng))

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Return a random neighbour of ``arch`` that differs from it.

        Parameters
        ----------
        arch : Architecture
            The architecture to change.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Architecture
        """
        distributions = self.distributions()
        params = self.to_params(arch)
        for _ in range(20):
            child = self.decode(mutate_params(distributions, params, rng))
            if child.key() != arch.key():
                return child
        return child

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """All architectures one categorical change away from ``arch``.

        Numeric parameters are not enumerated (they have no finite
        neighbourhood); spaces with such parameters may override this.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        list of Architecture
            Distinct architectures, none equal to ``arch``.
        """
        from optuna.distributions import CategoricalDistribution

        categorical = {
            name: dist
            for name, dist in self.distributions().items()
            if isinstance(dist, CategoricalDistribution)
        }
        seen = {arch.key()}
        result = []
        for params in neighbour_params(categorical, self.to_params(arch)):
            candidate = self.decode(params)
            if candidate.key() not in seen:
                seen.add(candidate.key())
                result.append(candidate)
        return result

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """Encode ``arch`` as a float vector for a performance predictor.

        Parameters
        ----------
        arch : Architecture
            The architecture to encode.
        kind : str, default="onehot"
            One of :attr:`encodings`.

        Returns
        -------
        numpy.ndarray of shape (n_slots,)
        """
        if kind != "onehot":
            raise ValueError(
                f"{type(self).__name__} does not support encoding {kind!r}; "
                f"supported: {list(self.encodings)}."
            )
        return encode_params(self.distributions(), self.to_params(arch))

    def latency_blocks(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> list[tuple[str, torch.nn.Module, tuple[int, ...]]]:
        """Split ``arch``'s network into blocks for a latency lookup table (optional hook).

        :class:`sknas.latency.LookupTableLatency` measures each block once
        and sums the blocks of a network. Spaces that do not implement the
        hook raise ``NotImplementedError``.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        n_features_in : int
            Number of input features.
        n_outputs : int
            Number of outputs.

        Returns
        -------
        list of (str, torch.nn.Module, tuple of int)
            ``(key, block, input_shape)``: the key names the operation and its
            configuration, ``input_shape`` excludes the batch dimension.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not split its networks into latency blocks; "
            "measure whole networks with sknas.latency.MeasuredLatency instead."
        )
