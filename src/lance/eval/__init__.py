"""Evaluation harness: methods as chains of the same stages, resumable runs, judging and the report."""
