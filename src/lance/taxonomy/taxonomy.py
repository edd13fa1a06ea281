"""The rejection taxonomy: ``safe`` plus K categories, each with a neutralisation
directive and a default action. Loadable and overridable from YAML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lance.config import Action, read_yaml
from lance.errors import ConfigError

SAFE = "safe"
_ALT = re.compile(r"(?:reframe toward|keep(?: the underlying need as)?|offer)\s+(.+?)(?:\s+instead)?\.?$", re.IGNORECASE)


class Category(BaseModel):
    """One rejection category."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    name: str
    description: str
    #: How a prompt in this category is turned into one that can be answered safely.
    directive: str
    action: Action = "neutralize"

    @property
    def alternative(self) -> str:
        """The constructive half of the directive, e.g. "history, policy, detection and safety"."""
        for clause in reversed(re.split(r";\s*", self.directive)):
            m = _ALT.search(clause.strip())
            if m:
                return re.sub(r"\s+framing$", "", m.group(1).strip().rstrip("."))
        return "a safer, more general version of the question"


class Taxonomy(BaseModel):
    """``safe`` first, then the risk categories, in a fixed order (index 0 = safe)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: int = 1
    categories: tuple[Category, ...]

    @model_validator(mode="after")
    def _check(self) -> Taxonomy:
        ids = [c.id for c in self.categories]
        if not ids or ids[0] != SAFE:
            raise ValueError("the first category must be 'safe'")
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate category ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        if len(ids) < 2:
            raise ValueError("a taxonomy needs at least one risk category besides 'safe'")
        return self

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    @property
    def risk_ids(self) -> list[str]:
        return self.ids[1:]

    def __len__(self) -> int:
        return len(self.categories)

    def __iter__(self) -> Iterator[Category]:  # type: ignore[override]
        return iter(self.categories)

    def __getitem__(self, cid: str) -> Category:
        for c in self.categories:
            if c.id == cid:
                return c
        raise KeyError(f"unknown category {cid!r}; known: {', '.join(self.ids)}")

    def index(self, cid: str) -> int:
        return self.ids.index(self[cid].id)

    def fingerprint(self) -> str:
        """Identity used to check that a checkpoint was trained on this taxonomy."""
        return f"{self.name}@{self.version}:" + ",".join(self.ids)

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> Taxonomy:
        """Return a copy with some categories' fields replaced (e.g. action, directive)."""
        cats = []
        for c in self.categories:
            if c.id in overrides:
                patch = overrides[c.id]
                if not isinstance(patch, dict):
                    raise ConfigError(f"taxonomy override for {c.id} must map field names to values, got {patch!r}")
                if patch.get("id", c.id) != c.id:
                    raise ConfigError(f"taxonomy override for {c.id} cannot change its id (to {patch['id']!r})")
                try:
                    c = Category.model_validate(c.model_dump() | patch)
                except ValidationError as exc:
                    raise ConfigError(f"taxonomy override for {c.id}: {exc.errors()[0]['msg']}") from None
            cats.append(c)
        unknown = set(overrides) - set(self.ids)
        if unknown:
            raise ConfigError(f"taxonomy overrides name unknown categories: {sorted(unknown)}")
        return self.model_copy(update={"categories": tuple(cats)})


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy YAML; ``None`` is the packaged default.

    A YAML with ``base: default`` and an ``overrides`` mapping patches the default
    instead of replacing it.
    """
    if path is None:
        text_path = files("lance.taxonomy").joinpath("default.yaml")
        data = read_yaml(Path(str(text_path)))
    else:
        data = read_yaml(Path(path))
    if data.get("base") == "default":
        overrides = data.get("overrides") or {}
        if not isinstance(overrides, dict):
            raise ConfigError(f"{path}: 'overrides' must map category ids to fields")
        return load_taxonomy(None).with_overrides(overrides)
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"taxonomy {path or 'default'} is invalid at {loc or '(root)'}: {first['msg']}") from None
