"""Search spaces: which networks can be built."""

from sknas.spaces.base import Architecture, SearchSpace
from sknas.spaces.mlp import MLPSpace

__all__ = ["Architecture", "SearchSpace", "MLPSpace"]
