"""load_taxonomy: the packaged default, ``base: default`` overrides, and every way a
taxonomy YAML can be wrong (each must be a one-line ConfigError, not a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lance.errors import ConfigError
from lance.taxonomy import SAFE, load_taxonomy


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "tax.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_default_is_safe_plus_s1_to_s14() -> None:
    tax = load_taxonomy()
    assert tax.ids == [SAFE] + [f"S{i}" for i in range(1, 15)]
    assert tax[SAFE].action == "pass"
    assert tax["S4"].action == "refuse"
    assert tax.index("S9") == 9
    assert tax.fingerprint().startswith("mlcommons-llamaguard3@1:safe,S1,")


def test_override_patches_only_named_fields(tmp_path: Path) -> None:
    p = _write(tmp_path, "base: default\noverrides:\n  S6:\n    action: refuse\n    directive: Decline politely.\n")
    tax = load_taxonomy(p)
    default = load_taxonomy()
    assert tax["S6"].action == "refuse" and tax["S6"].directive == "Decline politely."
    assert tax["S6"].name == default["S6"].name
    assert [c for c in tax if c.id != "S6"] == [c for c in default if c.id != "S6"]
    assert tax.fingerprint() == default.fingerprint()


@pytest.mark.parametrize(
    ("yaml_text", "fragment"),
    [
        ("base: default\noverrides:\n  S99:\n    action: refuse\n", "unknown categories"),
        ("base: default\noverrides:\n  S1:\n    action: explode\n", "S1"),
        ("base: default\noverrides:\n  S1:\n    colour: red\n", "S1"),
        ("base: default\noverrides: [S1, S2]\n", "overrides"),
        ("base: default\noverrides:\n  S1: refuse\n", "S1"),
        ("name: x\ncategories:\n  - {id: S1, name: a, description: b, directive: c}\n", "safe"),
        (
            "name: x\ncategories:\n  - {id: safe, name: a, description: b, directive: c}\n"
            "  - {id: A, name: a, description: b, directive: c}\n"
            "  - {id: A, name: a, description: b, directive: c}\n",
            "duplicate",
        ),
        ("name: x\ncategories:\n  - {id: safe, name: a, description: b, directive: c}\n", "at least one"),
        ("name: x\n", "categories"),
        ("categories: [\n", "not valid YAML"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_invalid_taxonomy_is_a_config_error(tmp_path: Path, yaml_text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_taxonomy(_write(tmp_path, yaml_text))
    msg = str(exc.value)
    assert fragment in msg
    assert "\n" not in msg


def test_override_cannot_rename_an_id_into_a_duplicate(tmp_path: Path) -> None:
    p = _write(tmp_path, "base: default\noverrides:\n  S1:\n    id: S2\n")
    with pytest.raises(ConfigError):
        load_taxonomy(p)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_taxonomy(tmp_path / "nope.yaml")


def test_full_custom_taxonomy(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "name: tiny\nversion: 2\ncategories:\n"
        "  - {id: safe, name: Safe, description: ok, directive: keep, action: pass}\n"
        "  - {id: X, name: Bad, description: bad, directive: drop it, action: refuse}\n",
    )
    tax = load_taxonomy(p)
    assert tax.ids == ["safe", "X"] and tax.risk_ids == ["X"]
    assert tax.fingerprint() == "tiny@2:safe,X"
