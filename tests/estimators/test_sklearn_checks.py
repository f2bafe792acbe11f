"""scikit-learn's own estimator checks, at a tiny budget."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknas import NASClassifier, NASRegressor
from sknas.testing import expected_failed_checks

TINY = dict(n_trials=2, max_epochs=15, patience=5, random_state=0, device="cpu")


@parametrize_with_checks(
    [NASClassifier(**TINY), NASRegressor(**TINY)], expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
