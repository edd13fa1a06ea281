"""Public datasets in one record type (see ``records``)."""

from lance.datasets.records import Label, Record, Split, deterministic_split

__all__ = ["Label", "Record", "Split", "deterministic_split"]
