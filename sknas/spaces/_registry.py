"""Search-space names -> search-space classes (imported on first use)."""

from __future__ import annotations

import importlib

from sknas.spaces.base import SearchSpace

__all__ = ["SPACES", "make_search_space"]

#: Registered search-space names and the ``module:Class`` that implements each.
SPACES: dict[str, str] = {
    "mlp": "sknas.spaces.mlp:MLPSpace",
    "nb201": "sknas.spaces.nb201:NB201Space",
    "darts": "sknas.spaces.darts:DARTSSpace",
    "recurrent": "sknas.spaces.recurrent:RecurrentCellSpace",
    "mobile": "sknas.spaces.mobile:MobileSpace",
}


def make_search_space(name: str) -> SearchSpace:
    """Build the default-configured search space registered under ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`SPACES`.

    Returns
    -------
    SearchSpace
    """
    if name not in SPACES:
        raise ValueError(
            f"Unknown search_space {name!r}; valid names are {['auto', *sorted(SPACES)]} "
            "or a sknas.spaces.SearchSpace instance."
        )
    module_name, class_name = SPACES[name].split(":")
    space_class = getattr(importlib.import_module(module_name), class_name)
    return space_class()
