"""The modern tabular blocks of MLPSpace: TabM ensembles and periodic numeric embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import tabm
import torch
from rtdl_num_embeddings import PeriodicEmbeddings
from sklearn.datasets import load_diabetes, load_iris

import sknas
from sknas import NASClassifier, NASRegressor
from sknas.spaces import MLPSpace
from sknas.spaces._mlp_module import MLPModule

FAST = dict(max_epochs=3, random_state=0, device="cpu", pruner=None)


def _params(space: MLPSpace, **update):
    params = space.to_params(space.sample(np.random.default_rng(0)))
    params.update(update)
    return params


MODERN = MLPSpace(embeddings=("none", "periodic"), ensemble_sizes=(1, 8))


def test_default_space_is_the_plain_mlp_and_the_blocks_are_opt_in():
    blocks = {"embedding", "embedding_scale", "ensemble_size"}
    assert not blocks & set(MLPSpace().distributions())
    assert blocks <= set(MODERN.distributions())


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
@pytest.mark.parametrize("residual", [False, True])
def test_ensemble_outputs_k_predictions_in_training_and_their_mean_in_evaluation(norm, residual):
    module = MLPModule(6, 3, [16, 8], norm=norm, residual=residual, ensemble_size=4)
    x = torch.randn(5, 6)
    members = module.train()(x)
    assert members.shape == (5, 4, 3)
    assert module.eval()(x).shape == (5, 3)
    # Evaluation is the members' mean (batch norm uses its running statistics then).
    with torch.no_grad():
        module.eval()
        head_inputs = module.blocks(x.unsqueeze(1).expand(-1, 4, -1))
        torch.testing.assert_close(module(x), module.head(head_inputs).mean(dim=1))
    assert any(isinstance(m, tabm.LinearBatchEnsemble) for m in module.modules())
    assert isinstance(module.head, tabm.LinearEnsemble)


def test_ensemble_members_differ_and_share_their_weight_matrices():
    torch.manual_seed(0)
    module = MLPModule(6, 2, [16], ensemble_size=4).train()
    out = module(torch.randn(7, 6))
    assert not torch.allclose(out[:, 0], out[:, 1])  # random-sign scalings make them differ
    first = module.blocks[0].body[0]
    assert first.weight.shape == (16, 6) and first.r.shape == (4, 6)


def test_periodic_embeddings_come_first():
    module = MLPModule(5, 2, [8], embedding="periodic", embedding_dim=4, embedding_scale=0.3)
    assert isinstance(module.embedding, PeriodicEmbeddings)
    assert module.blocks[0].body[0].in_features == 5 * 4
    assert module(torch.randn(3, 5)).shape == (3, 2)
    with pytest.raises(ValueError, match="Unknown embedding 'fourier'"):
        MLPModule(5, 2, [8], embedding="fourier")


def test_architecture_names_the_blocks():
    space = MODERN
    arch = space.decode(_params(space, embedding="periodic", embedding_scale=0.5, ensemble_size=8))
    assert "TabM ensemble of 8" in str(arch) and "periodic embeddings (scale 0.5)" in str(arch)
    assert "k=8" in arch.key() and "emb=periodic:0.5" in arch.key()
    plain = space.decode(_params(space, embedding="none", embedding_scale=0.5, ensemble_size=1))
    other_scale = space.decode(_params(space, embedding="none", embedding_scale=2.0,
                                       ensemble_size=1))
    assert plain.key() == other_scale.key()  # the scale means nothing without embeddings


def test_first_candidate_is_a_tabm_ensemble_when_the_space_offers_one():
    first = MODERN.initial_params()[0]
    assert first["ensemble_size"] == 8 and first["embedding"] == "none"
    assert "ensemble_size" not in MLPSpace().initial_params()[0]


@pytest.mark.parametrize("embedding", ["none", "periodic"])
def test_classifier_trains_every_member(embedding, tmp_path):
    X, y = load_iris(return_X_y=True)
    space = MLPSpace(embeddings=(embedding,), ensemble_sizes=(4,), max_layers=1)
    model = NASClassifier(search_space=space, n_trials=1, **FAST).fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, y) > 0.5
    loaded = sknas.load(model.save(tmp_path / "tabm.sknas"))
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_regressor_trains_every_member():
    X, y = load_diabetes(return_X_y=True)
    space = MLPSpace(ensemble_sizes=(4,), embeddings=("none",), max_layers=1)
    model = NASRegressor(search_space=space, n_trials=1, **FAST).fit(X, y + 1e6)
    assert model.predict(X).shape == y.shape
    assert abs(np.mean(model.predict(X)) - np.mean(y + 1e6)) < 50


def test_ensemble_loss_is_the_mean_over_members():
    from sknas.evaluation._modules import StandardizedMSELoss
    from sknas.evaluation._nets import SkorchRegressor

    net = SkorchRegressor(
        module=torch.nn.Linear, module__in_features=1, module__out_features=1,
        criterion=StandardizedMSELoss,
    ).initialize()
    y_pred = torch.tensor([[[1.0], [3.0]], [[0.0], [2.0]]])  # 2 rows, 2 members
    y_true = torch.tensor([[1.0], [0.0]])
    expected = ((0.0**2 + 2.0**2) + (0.0**2 + 2.0**2)) / 4
    assert float(net.get_loss(y_pred, y_true)) == pytest.approx(expected)


def test_smooth_clip_keeps_small_values_and_bounds_outliers():
    from sknas.spaces._mlp_module import SmoothClip

    x = torch.tensor([-1e6, -30.0, -0.01, 0.0, 0.01, 3.0, 30.0, 1e6])
    out = SmoothClip()(x)
    assert torch.all(out.abs() < 3.0)
    torch.testing.assert_close(out[2:5], x[2:5], atol=1e-5, rtol=1e-4)
    assert torch.all(torch.diff(out) > 0)  # monotone: the order of values is kept
    torch.testing.assert_close(out[5], torch.tensor(3.0 / 2**0.5))


def test_input_clip_is_a_choice_of_the_space_and_comes_first_in_the_module():
    space = MLPSpace(input_clips=(False, True))
    assert "input_clip" not in MLPSpace().distributions()
    assert space.distributions()["input_clip"].choices == (False, True)
    clipped = space.decode(_params(space, input_clip=True))
    plain = space.decode(_params(space, input_clip=False))
    assert clipped != plain and "soft-clipped" in clipped.description
    module = space.build_module(clipped, 4, 2).eval()
    x = torch.tensor([[1e4, 0.0, 0.0, 0.0]])
    torch.manual_seed(0)
    with torch.no_grad():
        expected = module.head(module.blocks(module.input_clip(x)))
        torch.testing.assert_close(module(x), expected)
    assert space.build_module(plain, 4, 2).input_clip is None


def test_input_clips_must_be_bools():
    with pytest.raises(ValueError, match="input_clips"):
        MLPSpace(input_clips=("yes",)).distributions()


def test_second_candidate_adds_periodic_embeddings_when_the_space_offers_both():
    space = MLPSpace(embeddings=("none", "periodic"))
    first, second = space.initial_params()
    assert first["embedding"] == "none" and second["embedding"] == "periodic"
    assert {k: v for k, v in second.items() if k != "embedding"} == {
        k: v for k, v in first.items() if k != "embedding"
    }
    assert len(MLPSpace().initial_params()) == 1
    assert len(MLPSpace(embeddings=("periodic",)).initial_params()) == 1


def test_auto_space_offers_embeddings_only_to_narrow_tables():
    from sknas.estimators.base import EMBEDDING_MAX_INPUTS

    rng = np.random.default_rng(0)
    for n_features, offered in ((5, True), (EMBEDDING_MAX_INPUTS + 1, False)):
        X = rng.normal(size=(40, n_features))
        y = (X[:, 0] > 0).astype(int)
        clf = NASClassifier(n_trials=2, max_epochs=1, random_state=0, pruner=None).fit(X, y)
        assert ("periodic" in clf.search_space_.embeddings) is offered
        embeddings = list(clf.cv_results_.get("param_embedding", []))
        assert embeddings == (["none", "periodic"] if offered else [])


# -- label smoothing ------------------------------------------------------------------
def _evaluator(space, task, n_outputs):
    from sklearn.metrics import get_scorer

    from sknas.evaluation.training import TrainingEvaluator

    return TrainingEvaluator(
        space, task=task, n_outputs=n_outputs,
        scorer=get_scorer("accuracy" if task == "classification" else "r2"),
        splits=[(np.arange(20), np.arange(20))], max_epochs=1, patience=1, device="cpu",
    )


def test_label_smoothing_is_searched_by_default_and_starts_at_one_tenth():
    space = MLPSpace()
    assert list(space.distributions()["label_smoothing"].choices) == [0.0, 0.1]
    arch = space.decode(space.initial_params()[0])
    assert space.training_config(arch)["label_smoothing"] == 0.1
    X, y = load_iris(return_X_y=True)
    net = _evaluator(space, "classification", 3).build_net(
        arch, X[:20].astype(np.float32), y[:20], seed=0, max_epochs=1
    )
    net.initialize()
    assert net.criterion_.label_smoothing == pytest.approx(0.1)
    plain = MLPSpace(label_smoothings=(0.0,))
    assert "label_smoothing" not in plain.distributions()
    arch = plain.decode(plain.initial_params()[0])
    assert "ls=" not in arch.key()
    net = _evaluator(plain, "classification", 3).build_net(
        arch, X[:20].astype(np.float32), y[:20], seed=0, max_epochs=1,
    )
    net.initialize()
    assert net.criterion_.label_smoothing == 0.0


def test_label_smoothing_changes_the_classification_loss_only():
    X, y = load_iris(return_X_y=True)
    losses = {}
    for smoothing in (0.0, 0.3):
        space = MLPSpace(label_smoothings=(smoothing,))
        arch = space.decode(space.initial_params()[0])
        torch.manual_seed(0)
        net = _evaluator(space, "classification", 3).build_net(
            arch, X[:20].astype(np.float32), y[:20], seed=0, max_epochs=1
        )
        net.initialize()
        logits = torch.tensor([[4.0, -2.0, -2.0]])
        losses[smoothing] = float(net.criterion_(logits, torch.tensor([0])))
    # A confident right answer costs more when the targets are smoothed.
    assert losses[0.3] > losses[0.0] + 0.5
    Xr, yr = load_diabetes(return_X_y=True)
    space = MLPSpace(label_smoothings=(0.3,))
    net = _evaluator(space, "regression", 1).build_net(
        space.decode(space.initial_params()[0]), Xr[:20].astype(np.float32),
        yr[:20, None].astype(np.float32), seed=0, max_epochs=1,
    )
    assert "criterion__label_smoothing" not in net.get_params()


def test_several_label_smoothings_are_searched():
    space = MLPSpace(label_smoothings=(0.0, 0.05, 0.2))
    assert list(space.distributions()["label_smoothing"].choices) == [0.0, 0.05, 0.2]
    assert space.initial_params()[0]["label_smoothing"] == 0.05  # the nearest to 0.1
    arch = space.decode(_params(space, label_smoothing=0.0))
    assert "ls=0" in arch.key() and "label smoothing 0" in arch.description
    assert space.training_config(arch)["label_smoothing"] == 0.0
    fixed = MLPSpace(label_smoothings=(0.2,))
    assert "label_smoothing" not in fixed.distributions()
    assert fixed.training_config(fixed.sample(np.random.default_rng(0)))["label_smoothing"] == 0.2


@pytest.mark.parametrize("bad", [(), (1.0,), (-0.1,), ("0.1",)])
def test_bad_label_smoothings_are_refused(bad):
    with pytest.raises(ValueError, match="label_smoothings"):
        MLPSpace(label_smoothings=bad).distributions()


def test_a_regressor_does_not_search_label_smoothing():
    X, y = load_diabetes(return_X_y=True)
    model = NASRegressor(n_trials=2, **FAST).fit(X[:80], y[:80])
    assert model.search_space_.label_smoothings == (0.0,)
    assert all("label_smoothing" not in params for params in model.cv_results_["params"])
    classifier = NASClassifier(n_trials=1, **FAST).fit(*load_iris(return_X_y=True))
    assert classifier.cv_results_["params"][0]["label_smoothing"] == 0.1
