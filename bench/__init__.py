"""Benchmarks for Wangge (`make bench`): figures, each beside a baseline measured in the same run.

Not pass/fail tests; see bench/README.md for what each figure means.
"""
