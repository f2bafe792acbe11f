"""``sknas fit``, ``sknas predict`` and ``sknas info`` (end to end through subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sknas.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def _sknas(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sknas", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory) -> Path:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame.iloc[::5].reset_index(drop=True)
    frame["target"] = frame["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame.loc[3, "sepal width (cm)"] = np.nan  # missing values are imputed
    path = tmp_path_factory.mktemp("cli") / "iris.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def iris_model(iris_csv) -> Path:
    model = iris_csv.parent / "iris.sknas"
    fit = _sknas("fit", str(iris_csv), "--target", "target", "--n-trials", "2",
                 "--max-epochs", "2", "--random-state", "0", "--out", str(model))
    assert fit.returncode == 0, fit.stderr
    assert "classification of 'target'" in fit.stdout and "best architecture" in fit.stdout
    return model


def test_fit_predict_info(iris_csv, iris_model, tmp_path):
    model = iris_model
    assert model.is_file()

    # Predict from Parquet (the target column is ignored) into Parquet.
    data = tmp_path / "new.parquet"
    pd.read_csv(iris_csv).to_parquet(data)
    out = tmp_path / "pred.parquet"
    predict = _sknas("predict", str(model), str(data), "--out", str(out), "--proba")
    assert predict.returncode == 0, predict.stderr
    predictions = pd.read_parquet(out)
    assert len(predictions) == 30
    assert set(predictions["prediction"]) <= {"setosa", "versicolor", "virginica"}
    proba = predictions[["proba_setosa", "proba_versicolor", "proba_virginica"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)

    import sknas

    loaded = sknas.load(model)
    features = pd.read_csv(iris_csv).drop(columns="target")
    np.testing.assert_array_equal(predictions["prediction"], loaded.predict(features))

    info = _sknas("info", str(model), "--top", "2")
    assert info.returncode == 0, info.stderr
    assert "NASClassifier, 4 features" in info.stdout
    assert "classes: setosa, versicolor, virginica" in info.stdout
    assert str(loaded.best_architecture_) in info.stdout
    assert "rank" in info.stdout and "COMPLETE" in info.stdout

    # A user error: one line on stderr, status 2.
    missing = _sknas("predict", str(model), str(iris_csv.parent / "absent.csv"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "absent.csv" in missing.stderr


def _error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_fit_errors(iris_csv, tmp_path, capsys):
    assert "'label' is not a column" in _error(capsys, "fit", str(iris_csv), "--target", "label")
    assert "no data file" in _error(capsys, "fit", str(tmp_path / "no.csv"), "--target", "y")
    assert "needs a numeric target" in _error(
        capsys, "fit", str(iris_csv), "--target", "target", "--task", "regression")
    assert "non-integer numbers" in _error(
        capsys, "fit", str(iris_csv), "--target", "petal length (cm)", "--task",
        "classification")
    binary = tmp_path / "bad.parquet"
    binary.write_bytes(b"not parquet at all")
    assert "cannot read" in _error(capsys, "fit", str(binary), "--target", "y")


def test_predict_and_info_errors(iris_csv, iris_model, tmp_path, capsys):
    assert "no model file" in _error(capsys, "info", str(tmp_path / "none.sknas"))
    partial = tmp_path / "partial.csv"
    pd.read_csv(iris_csv).drop(columns=["petal width (cm)"]).to_csv(partial, index=False)
    assert "lacks the model's feature column(s) ['petal width (cm)']" in _error(
        capsys, "predict", str(iris_model), str(partial))
    fake = tmp_path / "fake.sknas"
    fake.write_bytes(b"this is no model")
    assert "cannot load the model" in _error(capsys, "predict", str(fake), str(iris_csv))


def test_parquet_without_pyarrow_names_the_package(tmp_path, monkeypatch):
    from sknas._cli_data import CommandError, read_table

    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(CommandError, match="pip install pyarrow"):
        read_table(path)


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b", "a"], "classification"),
        ([True, False, True], "classification"),
        ([0, 1, 2, 1], "classification"),
        ([1.0, 2.0, 1.0], "classification"),
        (list(range(50)), "regression"),
        ([0.5, 1.2, 3.3], "regression"),
    ],
)
def test_task_inference_rule(values, task):
    from sknas._cli_data import infer_task

    assert infer_task(pd.Series(values)) == task
