"""refine stage."""
