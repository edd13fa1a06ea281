"""Research code outside the runtime: label-recovery baselines and metrics, the judges' validation studies.

Nothing in the library imports it; ``bench/`` and the tests do.
"""
