"""leaseq's benchmark suite: leaseq's own scenarios and the peers it is compared with.

Run ``python -m benchmarks --help``; see ``docs/benchmarks.md`` for the numbers.
"""
