"""Sampling, mutation and vector encodings for flat dicts of Optuna distributions.

These helpers work on any Optuna search space made of categorical, integer and
float distributions. Search spaces use them for their generic behaviour, and
samplers use them when they are given no architecture-aware space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = [
    "sample_value",
    "sample_params",
    "mutate_params",
    "encoding_length",
    "encode_choice_counts",
    "encode_params",
    "neighbour_params",
    "check_supported",
]


def check_supported(distributions: Mapping[str, BaseDistribution]) -> None:
    """Raise ``TypeError`` if a distribution is not categorical, int or float.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space to check.
    """
    for name, dist in distributions.items():
        if not isinstance(
            dist, (CategoricalDistribution, IntDistribution, FloatDistribution)
        ):
            raise TypeError(
                f"Parameter {name!r} has an unsupported distribution {dist!r}; "
                "expected CategoricalDistribution, IntDistribution or FloatDistribution."
            )


def _to_unit(value: float, low: float, high: float, log: bool) -> float:
    if high == low:
        return 0.5
    if log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def _from_unit(u: float, low: float, high: float, log: bool) -> float:
    u = min(max(u, 0.0), 1.0)
    if log:
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    return float(low + u * (high - low))


def _snap(dist: IntDistribution | FloatDistribution, value: float) -> int | float:
    if isinstance(dist, IntDistribution):
        n_steps = round((value - dist.low) / dist.step)
        return int(min(max(dist.low + n_steps * dist.step, dist.low), dist.high))
    if dist.step is not None:
        snapped = dist.low + round((value - dist.low) / dist.step) * dist.step
        return float(min(max(snapped, dist.low), dist.high))
    return float(min(max(value, dist.low), dist.high))


def sample_value(dist: BaseDistribution, rng: np.random.Generator) -> Any:
    """Draw one value uniformly from ``dist`` (log-uniformly where ``log=True``).

    Parameters
    ----------
    dist : BaseDistribution
        A categorical, int or float distribution.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    value
        A value inside the distribution.
    """
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    if isinstance(dist, IntDistribution):
        if dist.log:
            return _snap(dist, _from_unit(float(rng.random()), dist.low, dist.high, True))
        n_values = (dist.high - dist.low) // dist.step + 1
        return int(dist.low + int(rng.integers(n_values)) * dist.step)
    if isinstance(dist, FloatDistribution):
        return _snap(dist, _from_unit(float(rng.random()), dist.low, dist.high, dist.log))
    raise TypeError(f"Unsupported distribution {dist!r}")


def sample_params(
    distributions: Mapping[str, BaseDistribution], rng: np.random.Generator
) -> dict[str, Any]:
    """Draw every parameter of a flat search space independently.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    dict
        One value per parameter name.
    """
    return {name: sample_value(dist, rng) for name, dist in distributions.items()}


def mutate_params(
    distributions: Mapping[str, BaseDistribution],
    params: Mapping[str, Any],
    rng: np.random.Generator,
    n_changes: int = 1,
) -> dict[str, Any]:
    """Return a copy of ``params`` with ``n_changes`` parameters changed.

    A categorical parameter gets a different choice; a numeric one moves by a
    Gaussian step of 0.2 of its (log-)range, or is redrawn when that leaves it
    unchanged.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space.
    params : mapping
        The parent's parameters.
    rng : numpy.random.Generator
        Source of randomness.
    n_changes : int, default=1
        How many parameters to change.

    Returns
    -------
    dict
        The child's parameters.
    """
    child = dict(params)
    names = [n for n, d in distributions.items() if not d.single()]
    if not names:
        return child
    chosen = rng.choice(len(names), size=min(n_changes, len(names)), replace=False)
    for index in np.atleast_1d(chosen):
        name = names[int(index)]
        dist = distributions[name]
        current = child.get(name)
        if isinstance(dist, CategoricalDistribution):
            others = [c for c in dist.choices if c != current]
            child[name] = others[int(rng.integers(len(others)))]
            continue
        assert isinstance(dist, (IntDistribution, FloatDistribution))
        if current is None:
            child[name] = sample_value(dist, rng)
            continue
        log = dist.log and dist.low > 0
        u = _to_unit(float(current), dist.low, dist.high, log) + 0.2 * float(rng.normal())
        new = _snap(dist, _from_unit(u, dist.low, dist.high, log))
        if new == current:
            new = sample_value(dist, rng)
        child[name] = new
    return child


def neighbour_params(
    distributions: Mapping[str, BaseDistribution],
    params: Mapping[str, Any],
    step: float = 0.2,
) -> list[dict[str, Any]]:
    """Every parameter set one move away from ``params``.

    A categorical parameter moves to each of its other choices; a numeric one
    moves ``step`` of its (log-)range down and up (snapped to its grid and
    clipped to its bounds). Moves that leave the value unchanged are dropped.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space.
    params : mapping
        The centre of the neighbourhood.
    step : float, default=0.2
        Size of a numeric move, as a fraction of the (log-)range.

    Returns
    -------
    list of dict
        The neighbours, parameter by parameter, in the order of ``distributions``.
    """
    result: list[dict[str, Any]] = []
    for name, dist in distributions.items():
        if dist.single() or name not in params:
            continue
        current = params[name]
        if isinstance(dist, CategoricalDistribution):
            values = [c for c in dist.choices if c != current]
        else:
            assert isinstance(dist, (IntDistribution, FloatDistribution))
            log = dist.log and dist.low > 0
            u = _to_unit(float(current), dist.low, dist.high, log)
            values = []
            for move in (-step, step):
                value = _snap(dist, _from_unit(u + move, dist.low, dist.high, log))
                if value != current and value not in values:
                    values.append(value)
        result.extend({**params, name: value} for value in values)
    return result


def encoding_length(distributions: Mapping[str, BaseDistribution]) -> int:
    """Length of the vector produced by :func:`encode_params`.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space.

    Returns
    -------
    int
        One slot per categorical choice plus one per numeric parameter.
    """
    return sum(
        len(d.choices) if isinstance(d, CategoricalDistribution) else 1
        for d in distributions.values()
    )


def encode_params(
    distributions: Mapping[str, BaseDistribution], params: Mapping[str, Any]
) -> np.ndarray:
    """Encode parameters as a vector: one-hot categoricals, numerics in [0, 1].

    Numeric parameters are mapped linearly (or on the log scale where the
    distribution says ``log=True``) onto [0, 1]. A parameter missing from
    ``params`` encodes as zeros (categorical) or 0.5 (numeric).

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space, which fixes the order of the slots.
    params : mapping
        The parameters to encode.

    Returns
    -------
    numpy.ndarray of shape (encoding_length(distributions),)
    """
    parts: list[float] = []
    for name, dist in distributions.items():
        value = params.get(name)
        if isinstance(dist, CategoricalDistribution):
            slot = [0.0] * len(dist.choices)
            if value is not None and value in dist.choices:
                slot[dist.choices.index(value)] = 1.0
            parts.extend(slot)
        else:
            parts.append(_numeric_slot(dist, value))
    return np.asarray(parts, dtype=float)


def _numeric_slot(dist: BaseDistribution, value: Any) -> float:
    """A numeric value on [0, 1] (log scale where ``log=True``); 0.5 when missing."""
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    if value is None:
        return 0.5
    log = dist.log and dist.low > 0
    return _to_unit(float(value), dist.low, dist.high, log)


def encode_choice_counts(
    distributions: Mapping[str, BaseDistribution], params: Mapping[str, Any]
) -> np.ndarray:
    """Encode parameters with categoricals that share their choices pooled.

    Categorical parameters with the same list of choices (the operations on
    the edges of a cell, the activations of the layers of a network) form a
    group, encoded by how many of its parameters take each choice, whichever
    parameter it is. A categorical with choices of its own is therefore
    one-hot encoded. Numeric parameters follow, as in :func:`encode_params`.
    Such a "bag of choices" has few slots, so a model fitted on a few dozen
    evaluations learns which choices pay off.

    Parameters
    ----------
    distributions : mapping of str to BaseDistribution
        The search space, which fixes the order of the slots.
    params : mapping
        The parameters to encode.

    Returns
    -------
    numpy.ndarray
        The choice counts of each group (in order of first appearance), then
        one slot per numeric parameter.
    """
    groups: dict[tuple[Any, ...], list[float]] = {}
    numeric: list[float] = []
    for name, dist in distributions.items():
        value = params.get(name)
        if isinstance(dist, CategoricalDistribution):
            counts = groups.setdefault(tuple(dist.choices), [0.0] * len(dist.choices))
            if value is not None and value in dist.choices:
                counts[dist.choices.index(value)] += 1.0
        else:
            numeric.append(_numeric_slot(dist, value))
    return np.asarray([c for counts in groups.values() for c in counts] + numeric, dtype=float)
