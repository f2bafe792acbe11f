"""Accuracy against latency: search a Pareto front and deploy under a latency budget.

Searches MLPs for the digits data on two objectives, the validation accuracy
and the latency of a forward pass measured on this machine (batches of 256
rows, one thread), then refits the most accurate network of the front that runs under
a budget. Runs in about a minute on a laptop CPU.
"""

from __future__ import annotations

import tempfile

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.latency import measure_latency

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
# A storage keeps the study, so that a second fit with another refit choice
# resumes it (the budget of trials is spent) and only refits the chosen network.
tmp = tempfile.TemporaryDirectory()
storage = f"sqlite:///{tmp.name}/search.db"

search = NASClassifier(
    storage=storage,
    study_name="digits-latency",
    objectives=("score", "latency"),
    latency_batch_size=256,  # a batch of 256 rows: compute, not Python overhead, dominates
    strategy="motpe",
    n_trials=24,
    max_epochs=10,
    random_state=0,
).fit(X_train, y_train)

results = search.cv_results_
front = search.pareto_front_[np.argsort(results["cost_latency"][search.pareto_front_])]
print("Pareto front (validation accuracy, latency):")
for i in front:
    print(f"  {results['mean_test_score'][i]:.3f}  {results['cost_latency'][i]:.4f} ms  "
          f"{results['architecture'][i][:60]}")
latencies = results["cost_latency"][front]
print(f"{len(front)} points, latencies span a factor {latencies.max() / latencies.min():.1f}")

# Deploy under a budget: the most accurate front point whose latency is under it.
# The budget lies halfway (geometrically) between two front points, clear of the
# measurement noise (a few percent on a quiet machine, more on a busy one).
k = int(np.argmax(latencies[1:] / latencies[:-1])) if len(latencies) > 1 else 0
budget = float(np.sqrt(latencies[k] * latencies[min(k + 1, len(latencies) - 1)]))
fast = clone(search).set_params(refit={"latency": budget}).fit(X_train, y_train)
chosen = fast.best_index_
measured = measure_latency(fast.best_estimator_.module_, (X.shape[1],), batch_size=256)
print(f"refit={{'latency': {budget:.4f}}} chose trial {chosen}: validation accuracy "
      f"{fast.best_score_:.3f}, latency {results['cost_latency'][chosen]:.4f} ms in the search, "
      f"{measured:.4f} ms measured again; test accuracy {fast.score(X_test, y_test):.3f}")
print(f"the most accurate network: test accuracy {search.score(X_test, y_test):.3f}")
tmp.cleanup()
