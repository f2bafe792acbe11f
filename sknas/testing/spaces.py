"""A pytest conformance suite every :class:`~sknas.spaces.SearchSpace` should pass.

Subclass :class:`SearchSpaceConformance` in a test module and provide a
``space`` fixture (and, if the default is wrong for the space, ``module_io``).
The suite covers the required methods and the optional hooks with their
defaults (``isomorphism_key``, ``all_architectures``, ``training_config``)::

    class TestMySpace(SearchSpaceConformance):
        @pytest.fixture
        def space(self):
            return MySpace()
"""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sknas._optuna_compat import distribution_contains
from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["SearchSpaceConformance"]


class SearchSpaceConformance:
    """Behaviour shared by all search spaces."""

    n_samples = 20
    #: Architectures of ``all_architectures()`` checked (the first ones listed).
    n_listed = 200

    @pytest.fixture
    def space(self) -> SearchSpace:  # pragma: no cover - provided by subclasses
        raise NotImplementedError("define a `space` fixture")

    @pytest.fixture
    def module_io(self) -> tuple[int, int]:
        """``(n_features_in, n_outputs)`` used to build modules."""
        return 7, 3

    @pytest.fixture
    def archs(self, space: SearchSpace) -> list[Architecture]:
        rng = np.random.default_rng(0)
        return [space.sample(rng) for _ in range(self.n_samples)]

    def test_distributions_are_flat_and_stable(self, space):
        """``distributions()`` is non-empty and the same on every call."""
        first, second = space.distributions(), space.distributions()
        assert first and list(first) == list(second)
        assert first == second

    def test_decode_round_trip(self, space, archs):
        """``decode(to_params(arch))`` gives back an equal architecture with the same key."""
        for arch in archs:
            assert isinstance(arch, Architecture)
            assert arch.space == space.name
            params = space.to_params(arch)
            assert set(params) == set(space.distributions())
            again = space.decode(params)
            assert again == arch and again.key() == arch.key() and hash(again) == hash(arch)

    def test_sampled_params_lie_in_distributions(self, space, archs):
        """Sampled parameters lie inside their distributions."""
        dists = space.distributions()
        for arch in archs:
            for name, value in space.to_params(arch).items():
                assert distribution_contains(dists[name], value), name

    def test_sampling_is_seeded(self, space):
        """The same generator seed gives the same samples."""
        a = [space.sample(np.random.default_rng(5)).key() for _ in range(3)]
        b = [space.sample(np.random.default_rng(5)).key() for _ in range(3)]
        assert a == b

    def test_mutation_changes_the_architecture(self, space, archs):
        """``mutate`` returns a different, decodable architecture."""
        rng = np.random.default_rng(1)
        for arch in archs:
            child = space.mutate(arch, rng)
            assert child.key() != arch.key()
            space.decode(space.to_params(child))

    def test_neighbours_are_distinct_and_differ(self, space, archs):
        """``neighbours`` are distinct and differ from the architecture."""
        for arch in archs[:5]:
            keys = [n.key() for n in space.neighbours(arch)]
            assert arch.key() not in keys
            assert len(keys) == len(set(keys))

    def test_encodings_have_fixed_length(self, space, archs):
        """Every encoding has one finite length; unknown encodings are refused."""
        for kind in space.encodings:
            lengths = {space.encode(arch, kind).shape for arch in archs}
            assert len(lengths) == 1, kind
            assert np.isfinite(np.stack([space.encode(a, kind) for a in archs])).all()
        with pytest.raises(ValueError):
            space.encode(archs[0], "no-such-encoding")

    def test_bad_params_are_refused(self, space, archs):
        """A missing parameter is refused with a ``ValueError`` naming it."""
        params = space.to_params(archs[0])
        name = next(iter(params))
        with pytest.raises(ValueError, match=name):
            space.decode({k: v for k, v in params.items() if k != name})

    def test_build_module_forward(self, space, archs, module_io):
        """Built modules are ``torch.nn.Module`` with the requested output shape."""
        torch = pytest.importorskip("torch")
        n_in, n_out = module_io
        for arch in archs[:3]:
            module = space.build_module(arch, n_in, n_out)
            assert isinstance(module, torch.nn.Module)
            module.eval()
            with torch.no_grad():
                out = module(torch.randn(4, n_in, generator=torch.Generator().manual_seed(0)))
            assert out.shape == (4, n_out)

    def test_clone_and_pickle(self, space, archs):
        """Spaces clone and pickle; architectures pickle."""
        assert clone(space).get_params() == space.get_params()
        restored = pickle.loads(pickle.dumps(space))
        assert restored.decode(space.to_params(archs[0])) == archs[0]
        assert pickle.loads(pickle.dumps(archs[0])) == archs[0]

    def test_isomorphism_key_is_stable_and_equal_for_equal_architectures(self, space, archs):
        """``isomorphism_key`` is a string, stable, and equal for equal architectures."""
        by_key: dict[str, set[str]] = {}
        for arch in archs:
            key = space.isomorphism_key(arch)
            assert isinstance(key, str)
            assert space.isomorphism_key(arch) == key
            assert space.isomorphism_key(space.decode(space.to_params(arch))) == key
            assert space.isomorphism_key(pickle.loads(pickle.dumps(arch))) == key
            by_key.setdefault(arch.key(), set()).add(key)
        # equal architectures never get different isomorphism keys
        assert all(len(keys) == 1 for keys in by_key.values())

    def test_all_architectures_round_trip_when_listed(self, space):
        """Listed architectures are distinct, valid, round-trip and keep their order."""
        listed = space.all_architectures()
        if listed is None:  # not enumerable: the answer must not change
            assert space.all_architectures() is None
            return
        first = list(itertools.islice(listed, self.n_listed))
        assert first, "all_architectures() listed nothing"
        keys = [arch.key() for arch in first]
        assert len(set(keys)) == len(keys), "an architecture is listed twice"
        for arch in first:
            assert isinstance(arch, Architecture) and arch.space == space.name
            params = space.to_params(arch)
            space.check_params(params)
            assert space.decode(params) == arch
        again = itertools.islice(space.all_architectures(), len(first))
        assert [arch.key() for arch in again] == keys, "the order is not fixed"

    def test_training_config_returns_only_known_keys(self, space, archs):
        """``training_config`` returns only the evaluator's keys, with values of their types."""
        from sknas.evaluation.training import DEFAULT_TRAINING

        for arch in archs:
            config = space.training_config(arch)
            assert isinstance(config, dict)
            unknown = set(config) - set(DEFAULT_TRAINING)
            assert not unknown, f"unknown training keys {sorted(unknown)}"
            assert config == space.training_config(arch)
            for name, value in config.items():
                assert isinstance(value, type(DEFAULT_TRAINING[name])) or (
                    isinstance(value, (int, float)) and not isinstance(value, bool)
                    and isinstance(DEFAULT_TRAINING[name], (int, float))
                ), (name, value)
