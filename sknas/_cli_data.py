"""Tables for the command line: reading CSV and Parquet, splitting off the target, the task.

Every problem a user can fix is a :class:`CommandError`; ``sknas`` prints its
message on one line of stderr and exits with status 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CommandError",
    "read_table",
    "write_table",
    "split_target",
    "infer_task",
    "check_task",
    "MAX_CLASSES",
]

#: A numeric target of integers with at most this many distinct values is a classification.
MAX_CLASSES = 20
_PARQUET = (".parquet", ".pq")


class CommandError(Exception):
    """A user error of the command line (exit status 2, message on stderr)."""


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise CommandError(
            "the sknas command line needs pandas: pip install pandas"
        ) from exc
    return pandas


def _require_pyarrow(path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise CommandError(
            f"{str(path)!r} is a Parquet file, which needs the package 'pyarrow': "
            "pip install pyarrow"
        ) from None


def read_table(path: str | os.PathLike[str]) -> Any:
    """Read a CSV (optionally compressed) or Parquet file into a pandas DataFrame.

    Parameters
    ----------
    path : str or path-like
        ``.parquet``/``.pq`` files are read as Parquet (with pyarrow), every
        other file as CSV.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    CommandError
        When the file is absent, unreadable, empty, or Parquet without pyarrow.
    """
    pd = _pandas()
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no data file at {str(path)!r}")
    try:
        if path.suffix.lower() in _PARQUET:
            _require_pyarrow(path)
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except CommandError:
        raise
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if path.suffix.lower() in _PARQUET else "CSV"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CommandError(f"cannot read {str(path)!r} as {kind}: {first}") from None
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise CommandError(f"{str(path)!r} holds no rows or no columns")
    return frame


def write_table(frame: Any, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` as Parquet (``.parquet``/``.pq``) or CSV (anything else)."""
    path = Path(path)
    try:
        if path.suffix.lower() in _PARQUET:
            _require_pyarrow(path)
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise CommandError(f"cannot write {str(path)!r}: {exc}") from None


def split_target(frame: Any, target: str) -> tuple[Any, Any]:
    """``(X, y)``: the feature columns and the target column of ``frame``.

    Raises
    ------
    CommandError
        When ``target`` is not a column, is the only column, or has missing values.
    """
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        raise CommandError(f"--target {target!r} is not a column of the data (columns: {shown})")
    if frame.shape[1] < 2:
        raise CommandError(f"the data holds no feature column besides --target {target!r}")
    y = frame[target]
    n_missing = int(y.isna().sum())
    if n_missing:
        raise CommandError(
            f"the target column {target!r} has {n_missing} missing values; drop those rows"
        )
    return frame.drop(columns=[target]), y


def _integer_valued(y: Any) -> bool:
    values = np.asarray(y, dtype=float)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def infer_task(y: Any) -> str:
    """``"classification"`` or ``"regression"`` for a target column.

    The rule: a target that is not numeric (text, categories, booleans) is a
    classification; a numeric target is a classification when all its values
    are integers and it has at most :data:`MAX_CLASSES` distinct values, and a
    regression otherwise.

    Parameters
    ----------
    y : pandas.Series
        The target column.

    Returns
    -------
    str
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if is_bool_dtype(y) or not is_numeric_dtype(y):
        return "classification"
    if _integer_valued(y) and y.nunique() <= MAX_CLASSES:
        return "classification"
    return "regression"


def check_task(task: str, y: Any, target: str) -> None:
    """Raise when ``task`` cannot be learnt from the target column.

    Raises
    ------
    CommandError
        For a regression of a non-numeric target, or a classification of a
        target with non-integer numbers.
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    numeric = is_numeric_dtype(y) and not is_bool_dtype(y)
    if task == "regression" and not numeric:
        raise CommandError(
            f"--task regression needs a numeric target, but {target!r} holds "
            f"{y.dtype} values such as {y.iloc[0]!r}; use --task classification"
        )
    if task == "classification" and numeric and not _integer_valued(y):
        raise CommandError(
            f"--task classification needs class labels, but {target!r} holds non-integer "
            "numbers; use --task regression"
        )
    if task == "classification" and y.nunique() < 2:
        raise CommandError(f"the target column {target!r} holds a single class")
