"""Optuna's exported sampler test suites, run on every sknas strategy."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)


class TestOptunaSuites(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self, sampler_class: Callable[..., BaseSampler]) -> Callable[[], BaseSampler]:
        return lambda: sampler_class(seed=0)
