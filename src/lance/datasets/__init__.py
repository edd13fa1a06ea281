"""Public datasets as one record type (see ``records``), the registry and the training mix.

Data files are read from ``data_dir()`` (the repository's ``data/`` or
``$LANCE_DATA_DIR``); nothing is fetched at run time.
"""

from lance.datasets.mixed import RewritePair, load_rewrite_pairs
from lance.datasets.paths import data_dir
from lance.datasets.records import Label, Record, Split, deterministic_split
from lance.datasets.registry import DatasetInfo, dataset_info, list_datasets, load_dataset, training_mix

__all__ = [
    "DatasetInfo",
    "Label",
    "Record",
    "RewritePair",
    "Split",
    "data_dir",
    "dataset_info",
    "deterministic_split",
    "list_datasets",
    "load_dataset",
    "load_rewrite_pairs",
    "training_mix",
]
