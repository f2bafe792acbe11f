"""Reusable conformance suites for code that plugs into sknas."""

from sknas.testing.spaces import SearchSpaceConformance

__all__ = ["SearchSpaceConformance"]
