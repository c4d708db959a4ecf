"""The allocation tests' therapist and sites, for the audit of allocation decisions."""

from tests.allocation.conftest import ada, sites  # noqa: F401
