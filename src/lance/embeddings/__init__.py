"""Sentence embeddings shared by the gate, the similarity checks and the judges (offline encoders)."""
