"""Search spaces as JSON: what a study records and what a worker or model file rebuilds.

A description is a plain dict: the registered name of the space (None for a
custom class), its ``module:Class`` path and its ``get_params(deep=False)``
when those are JSON-representable. Rebuilding never imports a class that is
not registered unless the caller allows it by name.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Collection
from typing import Any

from sknas.spaces._registry import SPACES, make_search_space
from sknas.spaces.base import SearchSpace

__all__ = ["describe_space", "rebuild_space", "class_path"]


def class_path(space: SearchSpace) -> str:
    """``module:Class`` of a search space's class."""
    return f"{type(space).__module__}:{type(space).__qualname__}"


def _as_json(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists), or None if impossible."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return None


def describe_space(space: SearchSpace) -> dict[str, Any]:
    """A JSON description of ``space``.

    Parameters
    ----------
    space : SearchSpace
        A configured search space.

    Returns
    -------
    dict
        ``{"name": registered name or None, "class": "module:Class",
        "params": dict or None}``; ``params`` is None when some parameter is
        not JSON-representable (the space then cannot be rebuilt from it).

    Examples
    --------
    >>> from sknas.spaces import MLPSpace
    >>> d = describe_space(MLPSpace(max_layers=1, widths=(8,)))
    >>> d["name"], d["params"]["widths"]
    ('mlp', [8])
    """
    path = class_path(space)
    registered = [name for name, target in SPACES.items() if target == path]
    return {
        "name": registered[0] if registered else None,
        "class": path,
        "params": _as_json(space.get_params(deep=False)),
    }


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def rebuild_space(
    description: Any, *, allowed_classes: Collection[str] = ()
) -> SearchSpace:
    """The search space a :func:`describe_space` description stands for.

    Parameters
    ----------
    description : dict
        As returned by :func:`describe_space` (possibly read back from JSON).
    allowed_classes : collection of str, default=()
        ``module:Class`` paths of custom spaces that may be imported.
        Registered spaces are always allowed; nothing else is imported.

    Returns
    -------
    SearchSpace

    Raises
    ------
    ValueError
        When the description is malformed, names a class that is neither
        registered nor allowed, or has parameters that cannot be set.

    Examples
    --------
    >>> from sknas.spaces import MLPSpace
    >>> rebuild_space(describe_space(MLPSpace(max_layers=1, widths=(8,))))
    MLPSpace(max_layers=1, widths=(8,))
    """
    if not isinstance(description, dict) or not isinstance(description.get("class"), str):
        raise ValueError(f"Not a search-space description: {description!r:.200}.")
    name, path, params = description.get("name"), description["class"], description.get("params")
    if name is not None:
        if SPACES.get(name) != path:
            raise ValueError(
                f"The search-space description names {name!r} with class {path!r}, but "
                f"{name!r} is registered as {SPACES.get(name)!r}."
            )
        space = make_search_space(name)
    elif path in allowed_classes:
        module_name, _, class_name = path.partition(":")
        space_class = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(space_class, type) and issubclass(space_class, SearchSpace)):
            raise ValueError(f"{path!r} is not a sknas SearchSpace class.")
        space = space_class()
    else:
        raise ValueError(
            f"The search space {path!r} is not registered; it is rebuilt only when allowed "
            "explicitly by its 'module:Class' name."
        )
    if not isinstance(params, dict):
        raise ValueError(
            f"The parameters of the search space {path!r} were not recorded (not "
            "JSON-representable), so it cannot be rebuilt."
        )
    try:
        space.set_params(**{key: _tuples(value) for key, value in params.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Invalid parameters for the search space {path!r}: {exc}") from exc
    return space
