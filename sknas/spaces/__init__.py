"""Search spaces: which networks can be built."""

from sknas.spaces.base import Architecture, SearchSpace
from sknas.spaces.darts import DARTSSpace
from sknas.spaces.mlp import MLPSpace
from sknas.spaces.mobile import MobileSpace
from sknas.spaces.nb201 import NB201Space
from sknas.spaces.recurrent import RecurrentCellSpace

__all__ = [
    "Architecture",
    "SearchSpace",
    "MLPSpace",
    "NB201Space",
    "DARTSSpace",
    "RecurrentCellSpace",
    "MobileSpace",
]
