"""ProxyPrescreenSampler: proposes the best-scored of several base proposals."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch
from optuna.testing.pytest_samplers import BasicSamplerTestCase, RelativeSamplerTestCase

from sknas.proxies.prescreen import ProxyPrescreenSampler, proxy_score
from sknas.samplers import RegularizedEvolutionSampler
from sknas.spaces import NB201Space

SPACE = NB201Space(channels=2, cells_per_stage=1, image_shape=(3, 8, 8))


def _count_conv(arch):
    return float(SPACE.ops(arch).count("nor_conv_3x3"))


class _Recorder:
    """A proxy that counts 3x3 convolutions and remembers what it scored."""

    def __init__(self):
        self.scored: list[tuple[str, float]] = []

    def __call__(self, arch):
        score = _count_conv(arch)
        self.scored.append((arch.key(), score))
        return score


def _run(sampler, n_trials, objective=lambda arch: 1.0):
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(n_trials):
        trial = study.ask(SPACE.distributions())
        study.tell(trial, objective(SPACE.decode(trial.params)))
    return study


@pytest.mark.parametrize(
    "make_base",
    [
        lambda: optuna.samplers.RandomSampler(seed=1),
        lambda: optuna.samplers.TPESampler(seed=1, n_startup_trials=2, multivariate=True),
        lambda: RegularizedEvolutionSampler(
            seed=1, population_size=4, sample_size=2, n_startup_trials=2, search_space=SPACE
        ),
    ],
    ids=["random", "tpe", "evolution"],
)
def test_proposes_the_best_of_several_distinct_proposals(make_base):
    recorder = _Recorder()
    sampler = ProxyPrescreenSampler(
        make_base(), search_space=SPACE, proxy=recorder, n_candidates=6
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(6):
        recorder.scored.clear()
        trial = study.ask(SPACE.distributions())
        chosen = SPACE.decode(trial.params)
        new = dict(recorder.scored)
        assert len(new) > 1  # the base strategy was asked for different proposals
        assert _count_conv(chosen) == max(new.values())
        study.tell(trial, _count_conv(chosen))


def test_one_candidate_is_the_base_strategy_itself():
    plain = _run(optuna.samplers.RandomSampler(seed=3), 4)
    wrapped = _run(
        ProxyPrescreenSampler(
            optuna.samplers.RandomSampler(seed=3), search_space=SPACE, proxy=_count_conv,
            n_candidates=1,
        ),
        4,
    )
    assert [t.params for t in plain.trials] == [t.params for t in wrapped.trials]


def test_prescreen_raises_the_proxy_of_what_is_trained():
    def mean_conv(n_candidates):
        sampler = ProxyPrescreenSampler(
            optuna.samplers.RandomSampler(seed=0), search_space=SPACE, proxy=_count_conv,
            n_candidates=n_candidates,
        )
        study = _run(sampler, 10)
        return np.mean([_count_conv(SPACE.decode(t.params)) for t in study.trials])

    assert mean_conv(8) > mean_conv(1) + 1.0


def test_named_proxy_builds_seeded_networks_without_touching_global_rng():
    X = np.random.default_rng(0).normal(size=(4, 192)).astype(np.float32)
    arch = SPACE.arch_from_str(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    )
    state = torch.get_rng_state()
    first = proxy_score(SPACE, arch, "naswot", X, n_outputs=3, seed=0)
    assert first == proxy_score(SPACE, arch, "naswot", X, n_outputs=3, seed=0)
    assert torch.equal(torch.get_rng_state(), state)

    def trials():
        sampler = ProxyPrescreenSampler(
            optuna.samplers.RandomSampler(seed=0), search_space=SPACE, proxy="synflow",
            X=X, n_outputs=3, n_candidates=3,
        )
        return [t.params for t in _run(sampler, 2).trials]

    assert trials() == trials()
    assert torch.equal(torch.get_rng_state(), state)


def test_bad_settings_are_refused():
    base = optuna.samplers.RandomSampler(seed=0)
    with pytest.raises(ValueError, match="n_candidates must be an int >= 1"):
        ProxyPrescreenSampler(base, search_space=SPACE, proxy=_count_conv, n_candidates=0)
    with pytest.raises(ValueError, match="Unknown zero-cost proxy 'nope'"):
        ProxyPrescreenSampler(base, search_space=SPACE, proxy="nope")
    with pytest.raises(ValueError, match="pass X"):
        ProxyPrescreenSampler(base, search_space=SPACE, proxy="synflow")
    with pytest.raises(TypeError, match="optuna sampler"):
        ProxyPrescreenSampler("random", search_space=SPACE, proxy=_count_conv)
    with pytest.raises(TypeError, match="SearchSpace"):
        ProxyPrescreenSampler(base, search_space=None, proxy=_count_conv)
    with pytest.raises(TypeError, match="callable"):
        ProxyPrescreenSampler(base, search_space=SPACE, proxy=3)


class TestOptunaSuites(BasicSamplerTestCase, RelativeSamplerTestCase):
    """The wrapper is an ordinary Optuna sampler (parameters outside its space go to the base)."""

    @pytest.fixture
    def sampler(self):
        return lambda: ProxyPrescreenSampler(
            optuna.samplers.TPESampler(seed=0, n_startup_trials=2),
            search_space=SPACE, proxy=_count_conv, n_candidates=3,
        )
