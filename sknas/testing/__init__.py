"""Reusable conformance suites for code that plugs into sknas."""

from sknas.testing.sklearn_checks import expected_failed_checks
from sknas.testing.spaces import SearchSpaceConformance

__all__ = ["SearchSpaceConformance", "expected_failed_checks"]
