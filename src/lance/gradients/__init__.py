"""gradients stage."""
