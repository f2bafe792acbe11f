"""A search that a test interrupts with real SIGINTs (run as a script).

``python _sigint_child.py CONFIG_JSON`` fits a small NASClassifier whose
candidates mark, with files in ``config["markers"]``, the moment the test
waits for, then block there until this process has been interrupted (for at
most a minute). It prints one JSON line: the trials in the storage, the
warnings, the exception fit raised (if any) and whether the estimator can
predict.

Moments (``config["moment"]``):
- ``"decode"``: decoding the parameters of trial ``config["at"]`` (between two
  candidates' trainings); marker ``decode-<pid>``;
- ``"train"``: a forward pass of a training batch of the ``at``-th candidate
  this process trains; marker ``train-<pid>``;
- ``"valid"``: a forward pass of the validation step (skorch's epoch loop) of
  the ``at``-th candidate; marker ``valid-<pid>``;
- ``"score"``: the scorer called by the validation scoring callback (in
  skorch's ``on_epoch_end``) of the ``at``-th candidate; marker ``score-<pid>``;
- ``"refit"``: a training batch of the refit; markers ``refit-<n>``, ``n``
  being the interrupts received so far (the batch waits for the next one
  while ``n < config["refit_interrupts"]``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import optuna
import torch
from sklearn.datasets import load_iris
from sklearn.metrics import accuracy_score
from sklearn.model_selection import ShuffleSplit

from sknas import NASClassifier, _interrupts
from sknas.evaluation.training import TrainingEvaluator
from sknas.spaces import MLPSpace

CONFIG = json.loads(sys.argv[1])
MARKERS = Path(CONFIG["markers"])
MOMENT = CONFIG["moment"]
COUNTS = {"build": 0, "decode": 0}
PHASE = {"refit": False}


def block_until_interrupted(marker: str, interrupts: int = 1) -> None:
    """Create ``marker``, then wait (at most 60 s) for ``interrupts`` interrupts."""
    (MARKERS / marker).touch()
    end = time.monotonic() + 60
    while _interrupts.count() < interrupts and time.monotonic() < end:
        time.sleep(0.01)


class MarkingModule(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module, blocking: bool) -> None:
        super().__init__()
        self.inner = inner
        self.blocking = blocking

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if PHASE["refit"]:
            if MOMENT == "refit" and self.training:
                for n in range(CONFIG["refit_interrupts"]):
                    if _interrupts.count() == n:
                        block_until_interrupted(f"refit-{n}", n + 1)
        elif self.blocking and MOMENT == "train" and self.training:
            block_until_interrupted(f"train-{os.getpid()}")
        elif self.blocking and MOMENT == "valid" and not self.training:
            block_until_interrupted(f"valid-{os.getpid()}")
        return self.inner(X)


def _shape_check() -> bool:
    """True inside fit's dry run on torch's meta device (not a candidate)."""
    return torch.empty(0).device.type == "meta"


class MarkingSpace(MLPSpace):
    def __init__(self, max_layers: int = 2) -> None:
        super().__init__(max_layers=max_layers)

    def decode(self, params):
        if _shape_check():
            return super().decode(params)
        COUNTS["decode"] += 1
        if MOMENT == "decode" and COUNTS["decode"] == CONFIG["at"] + 1:
            block_until_interrupted(f"decode-{os.getpid()}")
        return super().decode(params)

    def build_module(self, arch, n_features_in, n_outputs):
        if _shape_check():
            return super().build_module(arch, n_features_in, n_outputs)
        COUNTS["build"] += 1
        inner = super().build_module(arch, n_features_in, n_outputs)
        return MarkingModule(inner, blocking=COUNTS["build"] >= CONFIG["at"] + 1)


def score(net, X, y) -> float:
    """Accuracy; blocks in the candidates that block (``moment="score"``)."""
    if MOMENT == "score" and COUNTS["build"] >= CONFIG["at"] + 1:
        block_until_interrupted(f"score-{os.getpid()}")
    return accuracy_score(y, net.predict(X))


_fit_final = TrainingEvaluator.fit_final


def fit_final(self, *args, **kwargs):
    PHASE["refit"] = True
    return _fit_final(self, *args, **kwargs)


TrainingEvaluator.fit_final = fit_final  # type: ignore[method-assign]


def main() -> None:
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(
        search_space=MarkingSpace(),
        strategy="random",
        n_trials=CONFIG["n_trials"],
        max_epochs=2,
        pruner=None,
        random_state=0,
        device="cpu",
        n_jobs=CONFIG["n_jobs"],
        scoring=score,
        storage=CONFIG["storage"],
        study_name="s",
        cv=ShuffleSplit(n_splits=1, test_size=0.2, random_state=0),  # one build per candidate
    )
    raised = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clf.fit(X, y)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            raised = type(exc).__name__
    try:
        predicts = clf.predict(X).shape == (len(X),)
    except Exception:  # noqa: BLE001 - not fitted
        predicts = False
    storage = CONFIG["storage"]
    if storage.startswith("journal:"):
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(storage[len("journal:") :])
        )
    study = optuna.load_study(study_name="s", storage=storage)
    print(
        json.dumps(
            {
                "raised": raised,
                "predicts": predicts,
                "pid": os.getpid(),
                "warnings": [
                    str(w.message) for w in caught if issubclass(w.category, UserWarning)
                ],
                "trials": [
                    {
                        "state": t.state.name,
                        "reason": t.user_attrs.get("fail_reason"),
                        "worker": t.user_attrs.get("worker"),
                    }
                    for t in study.trials
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
