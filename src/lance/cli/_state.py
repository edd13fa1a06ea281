"""State shared by CLI commands: global flags and lazily loaded settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from lance.config import LanceSettings, load_settings

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    config_path: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    debug: bool = False
    _settings: LanceSettings | None = None

    def settings(self) -> LanceSettings:
        if self._settings is None:
            self._settings = load_settings(self.config_path, self.overrides)
        return self._settings


STATE = CliState()


def read_prompt_arg(prompt: str | None, command: str = "generate") -> str:
    """A prompt from the argument, or from stdin when the argument is ``-``; ``command`` names the
    command in the error's example."""
    from lance.errors import InputError

    if prompt == "-":
        prompt = sys.stdin.read()
    if prompt is None or not prompt.strip():
        raise InputError(f"the prompt is empty: pass some text, e.g. lance {command} \"What is the capital of France?\"")
    return prompt
