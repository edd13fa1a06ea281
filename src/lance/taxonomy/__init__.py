"""Rejection taxonomy and the maps from public datasets' labels onto it."""

from lance.taxonomy.taxonomy import SAFE, Action, Category, Taxonomy, load_taxonomy

__all__ = ["SAFE", "Action", "Category", "Taxonomy", "load_taxonomy"]
