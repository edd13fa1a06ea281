"""LANCE: label-enhanced rejection. Turns rigid refusals into safe, natural answers."""

__version__ = "0.1.0"

from lance.lance import Lance
from lance.result import LanceResult, RefineResult, Route

__all__ = ["Lance", "LanceResult", "RefineResult", "Route", "__version__"]
