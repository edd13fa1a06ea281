"""Gradients stage: which spans carry which risk category, and the direction to move them (no LLM call)."""
