"""FBNet's lookup table: per-block latencies measured once, summed per network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sknas.latency._measure import MeasuredLatency, measure_latency

if TYPE_CHECKING:  # pragma: no cover
    from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["LookupTableLatency"]


class LookupTableLatency(MeasuredLatency):
    """Latency predicted as the sum of per-block latencies from a lookup table.

    The search space splits a network into blocks through its
    ``latency_blocks(arch, n_features_in, n_outputs)`` hook: a list of
    ``(key, module, input_shape)``, where ``key`` names the block's operation
    *and* its position (its input shape, its channels), so that one entry of
    the table serves every network that holds that block. A block whose key is
    not in the table yet is measured once with :func:`measure_latency`; a
    network's latency is the sum of its blocks' (FBNet, Wu et al. 2019). The
    sum misses what happens between blocks (memory traffic, Python dispatch),
    so it ranks networks better than it predicts absolute times (on the
    mobile space the sum was about 0.7 times the measured latency).
    :meth:`calibrate` times a few whole networks and fits
    ``measured = scale * sum + offset`` by least squares; :meth:`predict` then
    returns the calibrated figure. See ``docs/spaces/mobile.md`` and
    ``docs/multi_objective.md`` for measured accuracy.

    Parameters
    ----------
    search_space : SearchSpace
        A space implementing ``latency_blocks``.
    n_features_in, n_outputs : int
        Input width and outputs of the networks.
    batch_size, repeats, warmup, n_threads : int
        As in :func:`measure_latency`.

    Attributes
    ----------
    table_ : dict of str to float
        Measured milliseconds of each block key.
    calibration_ : tuple of float or None
        ``(scale, offset)`` fitted by :meth:`calibrate`; None before.

    Notes
    -----
    A subclass of :class:`MeasuredLatency` for its settings; ``predict``
    sums blocks instead of timing the whole network.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.spaces import MLPSpace
    >>> space = MLPSpace()
    >>> lut = LookupTableLatency(space, 4, 2, repeats=3, warmup=1)
    >>> lut.predict(space.sample(np.random.default_rng(0))) > 0
    True
    """

    def __init__(
        self,
        search_space: SearchSpace,
        n_features_in: int,
        n_outputs: int,
        *,
        batch_size: int = 1,
        repeats: int = 30,
        warmup: int = 5,
        n_threads: int | None = 1,
    ) -> None:
        super().__init__(
            search_space, n_features_in, n_outputs, batch_size=batch_size, repeats=repeats,
            warmup=warmup, n_threads=n_threads,
        )
        self.table_: dict[str, float] = {}
        self.calibration_: tuple[float, float] | None = None

    def _time(self, module: Any, input_shape: tuple[int, ...]) -> float:
        """Median milliseconds of one block or network (the table's one timer)."""
        return measure_latency(
            module,
            input_shape,
            batch_size=self.batch_size,
            repeats=self.repeats,
            warmup=self.warmup,
            n_threads=self.n_threads,
        )

    def table_sum(self, arch: Architecture) -> float:
        """Sum of the table's latencies of ``arch``'s blocks, uncalibrated, in milliseconds.

        Blocks not in the table yet are measured and added to it.

        Parameters
        ----------
        arch : Architecture
            An architecture of the space.

        Returns
        -------
        float

        Raises
        ------
        NotImplementedError
            If the space has no ``latency_blocks`` hook.
        """
        blocks = self.search_space.latency_blocks(arch, self.n_features_in, self.n_outputs)
        total = 0.0
        for key, module, shape in blocks:
            entry = f"{key}@{tuple(shape)}"
            if entry not in self.table_:
                self.table_[entry] = self._time(module, tuple(shape))
            total += self.table_[entry]
        return total

    def calibrate(self, archs: Sequence[Architecture]) -> LookupTableLatency:
        """Fit ``measured = scale * table sum + offset`` on whole networks of ``archs``.

        Each network is built by the space and timed whole, the same way as
        the blocks; a least-squares line (:func:`scipy.stats.linregress`)
        through ``(table sum, measured)`` absorbs what the sum misses (the
        parts, timed alone, run with their weights in cache; the framework's
        per-call overhead). A handful of networks of different sizes is
        enough: on the mobile space (MNIST-sized images), 8 networks calibrated
        the table to R2 0.85 on 35 others, from 0.08 as is
        (``docs/spaces/mobile.md``).

        Parameters
        ----------
        archs : sequence of Architecture
            At least two networks whose table sums differ.

        Returns
        -------
        LookupTableLatency
            ``self``, with :attr:`calibration_` set.

        Raises
        ------
        ValueError
            With fewer than two networks or equal table sums.
        """
        from scipy.stats import linregress

        sums = [self.table_sum(arch) for arch in archs]
        if len(sums) < 2 or max(sums) == min(sums):
            raise ValueError(
                "LookupTableLatency.calibrate needs at least two architectures whose table "
                f"sums differ, got {len(sums)} with sums {sums}."
            )
        measured = [
            self._time(
                self.search_space.build_module(arch, self.n_features_in, self.n_outputs),
                (self.n_features_in,),
            )
            for arch in archs
        ]
        fit = linregress(sums, measured)
        self.calibration_ = (float(fit.slope), float(fit.intercept))
        return self

    def predict(self, arch: Architecture, module: Any = None) -> float:
        """Latency of ``arch`` in milliseconds: its table sum, calibrated once calibrated.

        Parameters
        ----------
        arch : Architecture
            An architecture of the space.
        module : ignored
            The blocks are built by the space's ``latency_blocks``.

        Returns
        -------
        float
            :meth:`table_sum`, or ``scale * table_sum + offset`` after
            :meth:`calibrate`.

        Raises
        ------
        NotImplementedError
            If the space has no ``latency_blocks`` hook.
        """
        total = self.table_sum(arch)
        if self.calibration_ is None:
            return total
        scale, offset = self.calibration_
        return scale * total + offset
