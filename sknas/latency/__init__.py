"""Latency and cost models of candidate networks (hardware-aware NAS).

Three ways to know how fast a network runs:

- :func:`measure_latency`: time the forward pass on this machine (median of
  repeated runs after warm-up, fixed threads), cached per architecture by
  :class:`MeasuredLatency`;
- :class:`LookupTableLatency`: FBNet's lookup table: the latency of every
  block (operation at a position) is measured once and a network's latency is
  the sum over its blocks, for spaces with a ``latency_blocks`` hook;
- :class:`TableLatencyModel`: a scikit-learn regressor fitted to a table of
  latencies measured on another device (NAS-Bench-201's six devices).

:func:`count_parameters` and :func:`count_flops` are the cheap costs
(FLOPs through :class:`torch.utils.flop_counter.FlopCounterMode`);
:class:`MnasNetReward` folds accuracy and latency into one reward.
torch is imported only when a function runs.
"""

from __future__ import annotations

from sknas.latency._costs import count_flops, count_parameters
from sknas.latency._lut import LookupTableLatency
from sknas.latency._measure import MeasuredLatency, measure_latency
from sknas.latency._reward import MnasNetReward
from sknas.latency._table import TableLatencyModel, read_latency_table

__all__ = [
    "LookupTableLatency",
    "MeasuredLatency",
    "MnasNetReward",
    "TableLatencyModel",
    "count_flops",
    "count_parameters",
    "measure_latency",
    "read_latency_table",
]
