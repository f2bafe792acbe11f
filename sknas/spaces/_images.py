"""The image shape of flat image rows, shared by the cell spaces for images."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["resolve_image_shape"]


def resolve_image_shape(
    image_shape: Sequence[int] | None, n_features_in: int, owner: str
) -> tuple[int, int, int]:
    """The ``(C, H, W)`` that rows of ``n_features_in`` values are reshaped to.

    Parameters
    ----------
    image_shape : sequence of int or None
        The shape a space was given; None infers ``(3, s, s)`` or ``(1, s, s)``.
    n_features_in : int
        Number of features of a flattened image.
    owner : str
        The space's class name, for the messages.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        If ``image_shape`` does not match ``n_features_in``, or if it is
        None and the number of features is neither ``3 s^2`` nor ``s^2``.
    """
    if image_shape is not None:
        shape = tuple(int(v) for v in image_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                f"{owner}: image_shape must be (channels, height, width), got {image_shape!r}."
            )
        if math.prod(shape) != n_features_in:
            raise ValueError(
                f"{owner}: image_shape={shape} holds {math.prod(shape)} values but "
                f"the data has {n_features_in} features."
            )
        return (shape[0], shape[1], shape[2])
    for channels in (3, 1):
        if n_features_in % channels == 0:
            side = math.isqrt(n_features_in // channels)
            if side > 0 and side * side * channels == n_features_in:
                return (channels, side, side)
    raise ValueError(
        f"{owner}: cannot infer the image shape from {n_features_in} features "
        "(neither 3*s*s nor s*s); pass image_shape=(channels, height, width)."
    )
