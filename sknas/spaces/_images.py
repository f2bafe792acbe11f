"""The ``(channels, height, width)`` of flattened image input, shared by the image spaces."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["resolve_image_shape"]


def resolve_image_shape(
    owner: str, image_shape: Sequence[int] | None, n_features_in: int
) -> tuple[int, int, int]:
    """The ``(C, H, W)`` the flat inputs of a space are reshaped to.

    Parameters
    ----------
    owner : str
        Name of the space, for error messages.
    image_shape : sequence of int or None
        The space's ``image_shape`` parameter; None infers ``(3, s, s)`` or
        ``(1, s, s)`` from the number of features.
    n_features_in : int
        Number of features of a flattened image.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        If ``image_shape`` does not match ``n_features_in``, or if it is None
        and the number of features is neither ``3 s^2`` nor ``s^2``.
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
