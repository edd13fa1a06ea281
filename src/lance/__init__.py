"""LANCE: label-enhanced rejection. Turns rigid refusals into safe, natural answers."""

__version__ = "0.1.0"
