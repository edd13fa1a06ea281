"""LANCE: label-enhanced rejection. Turns rigid refusals into safe, natural answers."""

__version__ = "0.1.0"

from lance.errors import *  # noqa: F403 - the error tree is part of the public surface
from lance.errors import __all__ as _errors
from lance.lance import Lance
from lance.result import LanceResult, RefineResult, Route

__all__ = ["Lance", "LanceResult", "RefineResult", "Route", "__version__", *_errors]
