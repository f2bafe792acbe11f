"""FBNet's lookup table: per-block latencies measured once, summed per network."""

from __future__ import annotations

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
    so it ranks networks better than it predicts absolute times; see
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

    def predict(self, arch: Architecture, module: Any = None) -> float:
        """Sum of the table's latencies of ``arch``'s blocks, in milliseconds.

        Parameters
        ----------
        arch : Architecture
            An architecture of the space.
        module : ignored
            The blocks are built by the space's ``latency_blocks``.

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
                self.table_[entry] = measure_latency(
                    module,
                    shape,
                    batch_size=self.batch_size,
                    repeats=self.repeats,
                    warmup=self.warmup,
                    n_threads=self.n_threads,
                )
            total += self.table_[entry]
        return total
