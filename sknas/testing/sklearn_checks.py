"""scikit-learn's estimator checks that sknas' estimators are known to fail, with the reason.

Pass :func:`expected_failed_checks` to scikit-learn's
``parametrize_with_checks(..., expected_failed_checks=...)`` or
``check_estimator(..., expected_failed_checks=...)``: those checks then run as
expected failures, the way scikit-learn declares its own (``PER_ESTIMATOR_XFAIL_CHECKS``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SAMPLE_WEIGHT_EQUIVALENCE_REASON", "expected_failed_checks"]

#: Why integer weights are not the same as repeated rows for a searched network.
SAMPLE_WEIGHT_EQUIVALENCE_REASON = (
    "sample_weight is not equivalent to removing/repeating samples: rows of weight 0 are "
    "removed exactly, but a repeated row changes the mini-batches, the random validation "
    "split and the stopping epoch of stochastic gradient training, so a weight of 2 and a "
    "duplicated row train different networks (scikit-learn's own stochastic estimators "
    "carry the same expected failure, see its meta-issue #16298)."
)


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """The scikit-learn checks ``estimator`` is expected to fail, by name, with the reason.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        The estimator under test.

    Returns
    -------
    dict of str to str
    """
    return {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE_REASON,
        "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE_REASON,
    }
