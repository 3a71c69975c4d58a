"""Benchmarks: ``python -m benchmarks`` (or ``make bench``) runs them all; see __main__.py."""
