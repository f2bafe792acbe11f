"""sample_weight and class_weight: where the weights reach, and what they mean."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import accuracy_score, get_scorer, make_scorer

from sknas import NASClassifier, NASRegressor
from sknas.estimators._ensemble import _split_scorer
from sknas.estimators._job import SearchJob, fetch_job, publish_job
from sknas.evaluation import TrainingEvaluator
from sknas.spaces import MLPSpace

TINY = dict(n_trials=2, max_epochs=3, patience=2, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=120, n_features=5, n_informative=3, class_sep=0.5, random_state=0
    )
    return X, y


def test_weight_zero_is_a_removed_row(data):
    X, y = data
    weights = np.where(np.arange(len(y)) % 4 == 0, 0.0, 1.0)
    kept = weights > 0
    weighted = NASClassifier(**TINY).fit(X, y, sample_weight=weights)
    removed = NASClassifier(**TINY).fit(X[kept], y[kept])
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(
        weighted.cv_results_["mean_test_score"], removed.cv_results_["mean_test_score"]
    )


def test_weight_zero_with_cv_given_as_indices(data):
    X, y = data
    weights = np.where(np.arange(len(y)) < 20, 0.0, 1.0)
    cv = [(np.arange(0, 90), np.arange(90, 120))]
    weighted = NASRegressor(**TINY, cv=cv).fit(X, y.astype(float), sample_weight=weights)
    removed = NASRegressor(**TINY, cv=[(np.arange(0, 70), np.arange(70, 100))]).fit(
        X[20:], y[20:].astype(float)
    )
    np.testing.assert_allclose(weighted.predict(X), removed.predict(X), atol=1e-12)


def test_weighting_a_class_up_moves_predictions_toward_it(data):
    X, y = data
    plain = NASClassifier(**TINY).fit(X, y)
    heavy = NASClassifier(**TINY, class_weight={1: 20.0}).fit(X, y)
    assert heavy.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.05
    assert (heavy.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_class_weight_is_sample_weight_by_class(data):
    X, y = data
    by_class = NASClassifier(**TINY, class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    by_row = NASClassifier(**TINY).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    np.testing.assert_allclose(by_class.predict_proba(X), by_row.predict_proba(X), atol=1e-12)


def test_balanced_class_weight_on_imbalanced_data():
    X, y = make_classification(
        n_samples=200, n_features=4, weights=[0.9, 0.1], class_sep=0.4, random_state=1
    )
    plain = NASClassifier(**TINY).fit(X, y)
    balanced = NASClassifier(**TINY, class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_uniform_weights_change_nothing(data):
    X, y = data
    ones = NASClassifier(**TINY).fit(X, y, sample_weight=np.full(len(y), 2.5))
    none = NASClassifier(**TINY).fit(X, y)
    np.testing.assert_array_equal(ones.predict_proba(X), none.predict_proba(X))


def _plain_mlp(task, n_outputs, scoring, n_rows):
    """The MLP space's first candidate (no dropout, no normalisation) and an evaluator."""
    space = MLPSpace()
    evaluator = TrainingEvaluator(
        space, task=task, n_outputs=n_outputs, scorer=get_scorer(scoring),
        splits=[(np.arange(n_rows), np.arange(n_rows))], max_epochs=5, patience=5,
    )
    return space.decode(space.initial_params()[0]), evaluator


def test_integer_weights_train_as_repeated_rows_on_one_full_batch():
    """With one batch per epoch and no dropout, weight 2 is a duplicated row."""
    X, y = make_regression(n_samples=5, n_features=3, random_state=0)
    X = X.astype(np.float32)
    y = y.reshape(-1, 1)
    weights = np.array([2.0, 1.0, 3.0, 1.0, 1.0])
    rows = np.repeat(np.arange(5), weights.astype(int))  # 8 rows: still one batch
    arch, evaluator = _plain_mlp("regression", 1, "r2", 5)
    weighted = evaluator.fit_final(arch, X, y, n_epochs=5, seed=0, sample_weight=weights)
    repeated = evaluator.fit_final(arch, X[rows], y[rows], n_epochs=5, seed=0)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-4, atol=1e-4)


def test_weighted_loss_of_a_batch_is_the_loss_of_repeated_rows():
    X, y = make_classification(n_samples=6, n_features=3, n_informative=2,
                               n_redundant=0, random_state=0)
    X = X.astype(np.float32)
    weights = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 1.0])
    rows = np.repeat(np.arange(6), weights.astype(int))
    arch, evaluator = _plain_mlp("classification", 2, "accuracy", 6)
    net = evaluator.build_net(arch, X, y, seed=0, max_epochs=1, sample_weight=weights)
    net.initialize()
    import torch

    with torch.no_grad():
        logits = net.infer(X)
        weighted = net.get_loss(logits, y, X={"X": X, "sample_weight": weights})
        repeated = net.get_loss(logits[rows], y[rows], X=X[rows])
    assert float(weighted) == pytest.approx(float(repeated), rel=1e-6)


def test_ensemble_selection_scores_with_the_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 10)
    proba = rng.dirichlet(np.ones(3), 10)
    weights = rng.integers(1, 4, 10).astype(float)
    rows = np.repeat(np.arange(10), weights.astype(int))
    scorer = get_scorer("neg_log_loss")
    weighted = _split_scorer(scorer, "classification", [y], [10], [weights])(proba)
    repeated = _split_scorer(scorer, "classification", [y[rows]], [len(rows)])(proba[rows])
    np.testing.assert_allclose(weighted, repeated)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(5), "sample_weight.shape"),
        (-np.ones(120), "Negative values"),
        (np.full(120, np.nan), "NaN"),
        (np.zeros(120), "zero"),
        (np.r_[1.0, np.zeros(119)], "at least 2"),
    ],
)
def test_bad_weights_are_refused(data, weights, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        NASClassifier(**TINY).fit(X, y, sample_weight=weights)


def test_class_weight_for_a_label_not_in_y(data):
    X, y = data
    with pytest.raises(ValueError, match="class_weight=.*labels"):
        NASClassifier(**TINY, class_weight={7: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        NASClassifier(**TINY, class_weight="heavy").fit(X, y)


def test_scorer_without_sample_weight_is_refused(data):
    X, y = data

    def plain(estimator, X, y):
        return accuracy_score(y, estimator.predict(X))

    with pytest.raises(ValueError, match="takes no sample_weight"):
        NASClassifier(**TINY, scoring=plain).fit(X, y, sample_weight=np.arange(120) % 3 + 1)
    weighted = NASClassifier(**TINY, scoring=make_scorer(accuracy_score))
    weighted.fit(X, y, sample_weight=np.arange(120) % 3 + 1)


def test_weights_travel_with_a_published_job(data):
    X, y = data
    weights = np.arange(len(y)) % 3 + 1.0
    estimator = NASClassifier(**TINY)
    job = SearchJob(
        estimator=estimator, search_space=MLPSpace(), X=X.astype(np.float32), y=y,
        n_outputs=2, splits=[(np.arange(100), np.arange(100, 120))], sampler_seed=0,
        train_seed=0, device="cpu", n_trials=2, sample_weight=weights,
    )
    study = optuna.create_study()
    assert publish_job(study, job)
    fetched = fetch_job(study)
    np.testing.assert_array_equal(fetched.sample_weight, weights)
    job.sample_weight = -weights
    publish_job(study, job)
    with pytest.raises(ValueError, match="sample weights"):
        fetch_job(study)

