"""Benchmarks of a real LSO stack (embedded Valkey, `lso api`, `lso worker`) driven by wrk.

Run `python -m bench.run --help`; bench/README.md explains what is measured.
"""
