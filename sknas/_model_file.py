"""The container of sknas model files: a zip of JSON and data-only members, checked on read.

This module knows the file's layout and its limits, not estimators: it writes
a manifest (JSON) and named binary members, and reads them back only after
checking, before anything is allocated, that the archive is an sknas model
file, that each member is within its size limit, and that nothing was edited
since it was written (the manifest records a SHA-256 digest of every member
and of itself). What the members mean is checked by
:mod:`sknas.estimators._persistence`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LIMITS",
    "MANIFEST",
    "ModelFileError",
    "read_model_file",
    "write_model_file",
]

#: Marker in ``model.json`` of every sknas model file.
FORMAT = "sknas-model"
#: Version of the layout; files of newer versions are refused.
FORMAT_VERSION = 2
MANIFEST = "model.json"
_DIGESTS = "digests"

#: Largest sizes read from a model file, checked before anything is read or allocated.
LIMITS: dict[str, int] = {
    "manifest_bytes": 64 * 1024**2,
    "member_bytes": 4 * 1024**3,
    "members": 64,
    "parameters": 1_000_000_000,
    "arrays": 100_000,
}


class ModelFileError(ValueError):
    """A file is not a readable sknas model file (corrupt, edited, foreign, too big, too new)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_digest(manifest: dict[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != _DIGESTS}
    digests = {k: v for k, v in manifest.get(_DIGESTS, {}).items() if k != MANIFEST}
    canonical = json.dumps([body, digests], sort_keys=True, allow_nan=False)
    return _sha256(canonical.encode("utf-8"))


def write_model_file(path: str | os.PathLike, manifest: dict[str, Any],
                     members: dict[str, bytes]) -> Path:
    """Write ``manifest`` and ``members`` as a model file at ``path`` (atomically).

    Parameters
    ----------
    path : str or path-like
        Where to write; an existing file is replaced.
    manifest : dict
        JSON-representable description; ``format``, ``format_version`` and the
        digests are added here.
    members : dict of str to bytes
        Binary members (weights, preprocessing), stored as they are.

    Returns
    -------
    Path
    """
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest}
    manifest[_DIGESTS] = {name: _sha256(data) for name, data in members.items()}
    manifest[_DIGESTS][MANIFEST] = _manifest_digest(manifest)
    target = Path(path)
    descriptor, tmp_name = tempfile.mkstemp(dir=target.parent or ".", prefix=".sknas-")
    try:
        with os.fdopen(descriptor, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(
                MANIFEST, json.dumps(manifest, indent=1, allow_nan=False),
                compress_type=zipfile.ZIP_DEFLATED,
            )
            for name, data in members.items():
                archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo], required: tuple[str, ...]) -> None:
    names = {info.filename for info in infos}
    missing = [name for name in (MANIFEST, *required) if name not in names]
    if missing:
        raise ModelFileError(
            f"{path} is not an sknas model file: it lacks {' and '.join(missing)}."
        )
    if len(infos) > LIMITS["members"]:
        raise ModelFileError(
            f"{path} holds {len(infos)} members; an sknas model file has at most "
            f"{LIMITS['members']}."
        )
    for info in infos:
        limit = LIMITS["manifest_bytes"] if info.filename == MANIFEST else LIMITS["member_bytes"]
        if info.file_size > limit:
            raise ModelFileError(
                f"{path}: member {info.filename} is {info.file_size} bytes, more than the "
                f"{limit} bytes sknas reads (sknas._model_file.LIMITS)."
            )


def read_model_file(path: str | os.PathLike, required: tuple[str, ...]
                    ) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read and verify a model file: its manifest and its binary members.

    Parameters
    ----------
    path : str or path-like
        The model file.
    required : tuple of str
        Binary members the file must hold.

    Returns
    -------
    manifest : dict
    members : dict of str to bytes

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError
        Not a zip archive, not an sknas model file, a newer format, a member
        over its size limit, or contents that differ from the recorded digests.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_sizes(path, infos, required)
            raw_manifest = archive.read(MANIFEST)
            members = {
                info.filename: archive.read(info) for info in infos
                if info.filename != MANIFEST
            }
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{path} is not an sknas model file (not a zip archive).") from exc
    except (zipfile.LargeZipFile, OSError, EOFError, RuntimeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ModelFileError(f"{path} is corrupt: {exc}") from exc
    try:
        manifest = json.loads(raw_manifest.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path} is corrupt: {MANIFEST} is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not an sknas model file (no {FORMAT!r} format marker in {MANIFEST})."
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {version!r}, written by sknas "
            f"{manifest.get('sknas_version', '?')}; this sknas reads versions up to "
            f"{FORMAT_VERSION}. Upgrade sknas to load it."
        )
    if version < FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {version}, which this sknas no longer reads: "
            "refit the model and save it again."
        )
    _verify_digests(path, manifest, members)
    return manifest, members


def _verify_digests(path: Path, manifest: dict[str, Any], members: dict[str, bytes]) -> None:
    digests = manifest.get(_DIGESTS)
    if not isinstance(digests, dict):
        raise ModelFileError(f"{path} is corrupt: {MANIFEST} has no member digests.")
    expected = set(digests) - {MANIFEST}
    if set(members) != expected:
        raise ModelFileError(
            f"{path} was modified after it was written: it holds members "
            f"{sorted(members)}, its manifest lists {sorted(expected)}."
        )
    changed = [name for name, data in members.items() if _sha256(data) != digests[name]]
    if digests.get(MANIFEST) != _manifest_digest(manifest):
        changed.insert(0, MANIFEST)
    if changed:
        raise ModelFileError(
            f"{path} was modified after it was written: {', '.join(changed)} "
            "differ from the digests recorded when it was saved."
        )
