"""Overhead of sknas's skorch training loop against a hand-written PyTorch loop.

Every method trains the *same* module (the ``StandardizedModule`` that
``TrainingEvaluator.build_net`` builds, with the same initial weights) on the
same data, for the same epochs, with the same optimiser, learning rate, batch
size and torch thread count (1, as ``MLPSpace.preferred_threads``):

``hand``
    A plain loop: per epoch one random permutation, contiguous batch slices,
    ``zero_grad`` / forward / loss / ``backward`` / ``step`` and
    ``loss.item()`` per batch (skorch records every batch loss that way).
``sknas``
    ``TrainingEvaluator.build_net(..., valid=None)`` then ``net.fit``: the net
    ``fit_final`` trains (``BatchSlicingLoader``, no validation).
``skorch``
    skorch with its defaults (``torch.utils.data.DataLoader`` iterator,
    default callbacks), ``train_split=None`` so it trains on the same rows.

With ``--search`` two more methods model one candidate of a search: ``sknas
search`` is the net ``TrainingEvaluator.evaluate`` trains (validation scoring
every epoch, early stopping with ``load_best=True``, patience larger than the
epochs so all of them run) and ``hand search`` adds to the hand loop a
per-epoch validation pass (loss and accuracy) and a copy of the best weights.

Runs are interleaved (every repetition runs each configuration's methods in
a rotated order) and repeated; the table shows median process CPU seconds
and the ratio of each method to ``hand`` in CPU time (with one torch thread
it measures the work done, and other processes on a shared machine disturb
it far less than wall-clock time) and in wall-clock time.

Example::

    nice python benchmarks/training_overhead.py --repeats 7 --write-docs
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Dataset,
    load_dataset,
    machine_description,
    markdown_table,
    publish,
)

SECTION = "Training-loop overhead"


@dataclass
class Config:
    """One benchmark configuration: data set, architecture, batch size, epochs."""

    dataset: str
    widths: tuple[int, ...]
    batch_size: int
    epochs: int
    optimizer: str = "adam"
    norm: str = "none"
    max_train: int | None = None

    @property
    def label(self) -> str:
        """Short description used in the result table."""
        widths = "-".join(map(str, self.widths))
        norm = "" if self.norm == "none" else f", {self.norm} norm"
        return f"{self.dataset} [{widths}]{norm}, bs {self.batch_size}, {self.epochs} ep"


CONFIGS = [
    Config("digits", (64,), 32, 20),
    Config("digits", (256, 256), 128, 40),
    Config("magic", (128, 128, 128), 64, 3, norm="batch"),
    Config("letter", (512, 256), 256, 4),
]


def _architecture(config: Config) -> Any:
    from sknas.spaces import MLPSpace

    space = MLPSpace(max_layers=len(config.widths), widths=sorted(set(config.widths)))
    params: dict[str, Any] = {"n_layers": len(config.widths)}
    params.update({f"units_{i}": w for i, w in enumerate(config.widths)})
    params.update(
        activation="relu",
        dropout=0.0,
        norm=config.norm,
        residual=False,
        lr=1e-3,
        weight_decay=1e-5,
        batch_size=config.batch_size,
        optimizer=config.optimizer,
    )
    return space, space.decode(params)


class Case:
    """The data, architecture and evaluator of one configuration."""

    def __init__(self, config: Config, seed: int) -> None:
        from sknas.evaluation.training import TrainingEvaluator

        self.config = config
        self.seed = seed
        data: Dataset = load_dataset(config.dataset, max_train=config.max_train)
        self.X = data.X_train
        self.y = data.y_train
        self.n_outputs = int(self.y.max()) + 1
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.X))
        n_valid = len(self.X) // 5
        self.valid_idx, self.train_idx = order[:n_valid], order[n_valid:]
        self.space, self.arch = _architecture(config)
        self.evaluator = TrainingEvaluator(
            self.space,
            task="classification",
            n_outputs=self.n_outputs,
            scorer=_accuracy_scorer,
            splits=[(self.train_idx, self.valid_idx)],
            max_epochs=config.epochs,
            patience=config.epochs + 1,
            n_threads=1,
        )

    def build(self, *, search: bool) -> Any:
        """The (unfitted) net that sknas builds, weights seeded by ``self.seed``."""
        import torch

        torch.manual_seed(self.seed)
        if search:
            X, y = self.X[self.train_idx], self.y[self.train_idx]
            valid = (self.X[self.valid_idx], self.y[self.valid_idx])
        else:
            X, y, valid = self.X, self.y, None
        return self.evaluator.build_net(
            self.arch, X, y, seed=self.seed, max_epochs=self.config.epochs, valid=valid
        )


def _accuracy_scorer(net: Any, X: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y, net.predict(X)))


# -- the methods ---------------------------------------------------------------------
@dataclass
class Timing:
    """Wall-clock and process CPU seconds of one run, and its final training loss."""

    wall: float
    cpu: float
    loss: float


class _Clock:
    """Starts both clocks when created."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self, loss: float) -> Timing:
        return Timing(time.perf_counter() - self.wall, time.process_time() - self.cpu, loss)


def _optimizer(net: Any, module: Any) -> Any:
    from sknas.evaluation.training import _optimizer_class

    cls, extra = _optimizer_class(net.optimizer.__name__.lower())
    return cls(module.parameters(), lr=net.lr, weight_decay=net.optimizer__weight_decay, **extra)


def run_hand(case: Case, *, search: bool = False) -> Timing:
    """The hand-written loop; returns its timing and the last epoch's mean loss."""
    import torch

    net = case.build(search=search)
    module = net.module
    criterion = torch.nn.CrossEntropyLoss()
    idx = case.train_idx if search else np.arange(len(case.X))
    X_np, y_np = case.X[idx], case.y[idx]
    Xv_np, yv_np = case.X[case.valid_idx], case.y[case.valid_idx]
    gc.collect()
    clock = _Clock()
    X, y = torch.from_numpy(X_np), torch.from_numpy(y_np)
    Xv, yv = torch.from_numpy(Xv_np), torch.from_numpy(yv_np)
    optimizer = _optimizer(net, module)
    rng = np.random.default_rng(case.seed)
    n = len(X)
    bs = net.batch_size
    n_batches = n // bs if n > bs else 1
    best, best_state = -np.inf, None
    epoch_loss = float("nan")
    for _ in range(case.config.epochs):
        module.train()
        order = torch.from_numpy(rng.permutation(n))
        Xp, yp = X[order], y[order]
        total = 0.0
        for i in range(n_batches):
            xb, yb = Xp[i * bs : (i + 1) * bs], yp[i * bs : (i + 1) * bs]
            optimizer.zero_grad()
            loss = criterion(module(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        epoch_loss = total / (n_batches * bs if n > bs else n)
        if search:
            module.eval()
            with torch.no_grad():
                outputs = torch.cat([module(Xv[j : j + 1024]) for j in range(0, len(Xv), 1024)])
                criterion(outputs, yv).item()
                accuracy = (outputs.argmax(1) == yv).double().mean().item()
            if accuracy > best:
                best, best_state = accuracy, copy.deepcopy(module.state_dict())
    if search and best_state is not None:
        module.load_state_dict(best_state)
    return clock.stop(epoch_loss)


def _skorch_loss(net: Any) -> float:
    return float(net.history[-1, "train_loss"])


def run_sknas(case: Case, *, search: bool = False) -> Timing:
    """The net sknas builds (``fit_final`` without, ``evaluate`` with validation)."""
    net = case.build(search=search)
    idx = case.train_idx if search else slice(None)
    X, y = case.X[idx], case.y[idx]
    gc.collect()
    clock = _Clock()
    net.fit(X, y)
    return clock.stop(_skorch_loss(net))


def run_skorch_defaults(case: Case) -> Timing:
    """skorch with its defaults around the same module (DataLoader, default callbacks)."""
    import torch
    from skorch import NeuralNetClassifier

    built = case.build(search=False)
    net = NeuralNetClassifier(
        module=built.module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=built.optimizer,
        lr=built.lr,
        optimizer__weight_decay=built.optimizer__weight_decay,
        batch_size=built.batch_size,
        max_epochs=case.config.epochs,
        iterator_train__shuffle=True,
        train_split=None,
        classes=list(range(case.n_outputs)),
        verbose=0,
    )
    gc.collect()
    clock = _Clock()
    net.fit(case.X, case.y)
    return clock.stop(_skorch_loss(net))


Method = Callable[[Case], Timing]


def methods(search: bool) -> dict[str, Method]:
    """Methods to compare, by name."""
    found: dict[str, Method] = {
        "hand": run_hand,
        "sknas": run_sknas,
        "skorch defaults": run_skorch_defaults,
    }
    if search:
        found["hand search"] = lambda case: run_hand(case, search=True)
        found["sknas search"] = lambda case: run_sknas(case, search=True)
    return found


# -- driver --------------------------------------------------------------------------
def run(configs: list[Config], repeats: int, search: bool, seed: int) -> dict[str, Any]:
    """Run every method of every configuration ``repeats`` times, interleaved."""
    import torch

    torch.set_num_threads(1)
    cases = [Case(config, seed) for config in configs]
    named = methods(search)
    names = list(named)
    timings: dict[tuple[int, str], list[Timing]] = {}
    for name in names:  # warm-up: imports, allocator, first-call costs
        named[name](cases[0])
    for rep in range(repeats):
        for c, case in enumerate(cases):
            shift = (rep + c) % len(names)
            for name in names[shift:] + names[:shift]:
                timings.setdefault((c, name), []).append(named[name](case))
        print(f"repetition {rep + 1}/{repeats} done", file=sys.stderr, flush=True)
    return {"cases": cases, "names": names, "timings": timings}


def _baseline(name: str) -> str:
    return "hand search" if "search" in name else "hand"


def report(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Table of median CPU seconds, CPU (and wall) ratios to the hand loop, final losses."""
    names: list[str] = result["names"]
    ratio_names = [n for n in names if not n.startswith("hand")]
    headers = ["configuration", "steps"]
    headers += [f"{name} CPU s" for name in names]
    headers += [f"{name} / {_baseline(name)}: CPU (wall)" for name in ratio_names]
    headers += ["final loss hand / sknas"]
    rows = []
    for c, case in enumerate(result["cases"]):
        runs = {n: result["timings"][(c, n)] for n in names}
        cpu = {n: statistics.median(t.cpu for t in runs[n]) for n in names}
        wall = {n: statistics.median(t.wall for t in runs[n]) for n in names}
        n_train = len(case.X)
        steps = case.config.epochs * max(1, n_train // case.config.batch_size)
        row = [f"{case.config.label} ({n_train} rows)", str(steps)]
        row += [f"{cpu[n]:.3f}" for n in names]
        for n in ratio_names:
            base = _baseline(n)
            row.append(f"{cpu[n] / cpu[base]:.2f}x ({wall[n] / wall[base]:.2f}x)")
        row.append(f"{runs['hand'][-1].loss:.4f} / {runs['sknas'][-1].loss:.4f}")
        rows.append(row)
    return headers, rows


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="repetitions (default 7)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling")
    parser.add_argument(
        "--configs",
        type=int,
        nargs="*",
        default=None,
        help=f"indices of configurations to run (default all {len(CONFIGS)})",
    )
    parser.add_argument(
        "--search", action="store_true", help="also time the search-time net (validation)"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help=f"write the table into docs/ ({SECTION})"
    )
    args = parser.parse_args(argv)
    configs = CONFIGS if args.configs is None else [CONFIGS[i] for i in args.configs]
    result = run(configs, args.repeats, args.search, args.seed)
    headers, rows = report(result)
    preamble = (
        f"Machine: {machine_description()}. Torch runs on 1 thread. The machine is "
        f"shared with other processes, so methods are interleaved and the table shows "
        f"medians over {args.repeats} repetitions; the ratios compare process CPU "
        f"time (robust to other processes taking the cores), wall-clock ratios in "
        f"parentheses."
    )
    publish(markdown_table(headers, rows), SECTION, preamble, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
