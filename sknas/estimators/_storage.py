"""Optuna storages for searches that persist, resume and run in several processes."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from sknas._optuna_compat import journal_file_path

__all__ = [
    "StorageSpec",
    "resolve_storage",
    "mask_url",
    "describe_storage",
    "HEARTBEAT_INTERVAL",
    "GRACE_PERIOD",
]

#: Seconds between a worker's heartbeats (RDB storages: SQLite, PostgreSQL, MySQL).
HEARTBEAT_INTERVAL = 5
#: Seconds without a heartbeat after which a running trial is marked FAIL.
GRACE_PERIOD = 20
JOURNAL_PREFIX = "journal:"


@dataclass(frozen=True)
class StorageSpec:
    """A picklable description of a storage that another process can open.

    Attributes
    ----------
    kind : {"rdb", "journal"}
        Storage family.
    location : str
        Database URL, or journal file path.
    heartbeat_interval, grace_period : int, optional
        Heartbeat settings of an RDB storage.
    """

    kind: str
    location: str
    heartbeat_interval: int | None = None
    grace_period: int | None = None

    def open(self) -> BaseStorage:
        """Open the storage in this process.

        Raises
        ------
        ValueError
            When the storage cannot be opened; the message names it (password
            hidden) and says why.
        """
        try:
            if self.kind == "journal":
                return JournalStorage(JournalFileBackend(self.location))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    self.location,
                    heartbeat_interval=self.heartbeat_interval,
                    grace_period=self.grace_period,
                )
        except Exception as exc:
            cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValueError(
                f"Could not open the Optuna storage {self.describe()}: "
                f"{type(exc).__name__}: {mask_url(cause)}"
            ) from exc

    def describe(self) -> str:
        """The storage as a user would name it, with any password hidden."""
        if self.kind == "journal":
            return repr(JOURNAL_PREFIX + self.location)
        return repr(mask_url(self.location))


def spec_from_url(
    url: str,
    heartbeat_interval: int | None = HEARTBEAT_INTERVAL,
    grace_period: int | None = GRACE_PERIOD,
) -> StorageSpec:
    """Describe the storage named by ``url``.

    Parameters
    ----------
    url : str
        A database URL (``sqlite:///search.db``, ``postgresql://user@host/db``)
        or ``journal:<path>`` for an Optuna journal file.
    heartbeat_interval, grace_period : int, optional
        Heartbeat settings for database storages.

    Returns
    -------
    StorageSpec
    """
    if url.startswith(JOURNAL_PREFIX):
        return StorageSpec("journal", os.path.abspath(url[len(JOURNAL_PREFIX) :]))
    return StorageSpec("rdb", url, heartbeat_interval, grace_period)


def spec_from_storage(storage: BaseStorage) -> StorageSpec | None:
    """Describe a storage instance, or None when other processes cannot open it."""
    if isinstance(storage, RDBStorage):
        return StorageSpec(
            "rdb", storage.url, storage.heartbeat_interval, storage.grace_period
        )
    path = journal_file_path(storage)
    if path is not None:
        return StorageSpec("journal", os.path.abspath(path))
    return None


_PASSWORD = re.compile(r"(://[^:/@\s]*:)\S*@")


def mask_url(text: str) -> str:
    """``text`` with the password of any URL in it replaced by ``***``.

    Examples
    --------
    >>> mask_url("postgresql://alice:S3cret@db-host/nas")
    'postgresql://alice:***@db-host/nas'
    >>> mask_url("sqlite:///search.db")
    'sqlite:///search.db'
    """
    return _PASSWORD.sub(r"\1***@", text)


def describe_storage(storage: Any) -> str:
    """A storage (URL, spec or instance) as a message names it, password hidden."""
    if isinstance(storage, str):
        return repr(mask_url(storage))
    spec = spec_from_storage(storage) if isinstance(storage, BaseStorage) else None
    return spec.describe() if spec is not None else f"<{type(storage).__name__}>"


def resolve_storage(
    storage: Any, n_jobs: int, tmp_dir: str | None
) -> tuple[Any, StorageSpec | None]:
    """The storage a search uses and, when it can be shared, its :class:`StorageSpec`.

    Parameters
    ----------
    storage : None, str or BaseStorage
        The estimator's ``storage`` parameter.
    n_jobs : int
        Worker processes on this machine.
    tmp_dir : str, optional
        Where to put a private journal file when ``storage`` is None and
        ``n_jobs > 1``.

    Returns
    -------
    storage : None or BaseStorage
        What to give ``optuna.create_study``.
    spec : StorageSpec or None
        How other processes open it (None: in-memory, single process).
    """
    if storage is None:
        if n_jobs == 1:
            return None, None
        assert tmp_dir is not None
        spec = StorageSpec("journal", os.path.join(tmp_dir, "search.journal"))
        return spec.open(), spec
    if isinstance(storage, str):
        url_spec = spec_from_url(storage)
        return url_spec.open(), url_spec
    instance_spec = spec_from_storage(storage)
    if instance_spec is None and n_jobs > 1:
        raise ValueError(
            f"n_jobs={n_jobs} needs a storage that several processes can open "
            "(a database URL, 'journal:<path>', an RDBStorage or a JournalStorage over a "
            f"file); got {type(storage).__name__}."
        )
    return storage, instance_spec


def open_study(spec: StorageSpec, study_name: str) -> optuna.Study:
    """Load an existing study from a :class:`StorageSpec` (in a worker process)."""
    return optuna.load_study(study_name=study_name, storage=spec.open())
