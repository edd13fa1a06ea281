"""The public surface is pinned: what ``lance`` exports, and the error tree drawn in ``lance.errors``."""

from __future__ import annotations

import re

import lance
import lance.config
import lance.errors


def test_top_level_exports_exactly_this() -> None:
    assert sorted(lance.__all__) == sorted([
        "AssessmentUnavailable", "BackendError", "BackendRateLimited", "BackendResponseError", "BackendTimeout",
        "BackendUnavailable", "ConfigError", "ContextOverflow", "InputError", "Lance", "LanceError", "LanceResult", "ModelFileError", "RefineResult", "Route",
        "__version__",
    ])
    for name in lance.__all__:
        assert hasattr(lance, name), name


def test_config_exports_exactly_this() -> None:
    assert sorted(lance.config.__all__) == sorted([
        "PRECISIONS", "Action", "BackendConfig", "BackendKind", "EncoderConfig", "LanceSettings", "PipelineConfig",
        "Precision", "Route", "ServerConfig", "load_pipeline_config", "load_settings", "read_yaml", "server_config",
    ])
    for name in lance.config.__all__:
        assert hasattr(lance.config, name), name


def test_the_error_tree_in_the_docstring_is_the_class_tree() -> None:
    drawn: dict[str, str] = {}
    parents: list[tuple[int, str]] = []
    for line in (lance.errors.__doc__ or "").splitlines():
        m = re.match(r"^(\s*)(?:[│ ]*[├└]── )?([A-Z]\w+)\s{2,}", line)
        if not m:
            continue
        depth = len(line) - len(line.lstrip(" │├└─"))
        name = m.group(2)
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            drawn[name] = parents[-1][1]
        parents.append((depth, name))
    classes = {n: c for n, c in vars(lance.errors).items() if isinstance(c, type) and issubclass(c, Exception)}
    assert set(drawn) | {"LanceError"} == set(classes) == set(lance.errors.__all__)
    for name, parent in drawn.items():
        assert parent in [b.__name__ for b in classes[name].__bases__], (name, parent)
