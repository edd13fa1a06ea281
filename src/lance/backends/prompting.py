"""Completion-style prompts for base (non-chat) models.

A base model such as Gemma 3 270M has no instruction tuning: its chat template
yields empty output. It does continue a transcript well, so chat messages are
rendered as a short dialogue with a few example turns and the model is stopped
before it writes the next ``User:`` line itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from lance.backends.base import Message

USER = "User"
ASSISTANT = "Assistant"

DEFAULT_HEADER = (
    "The following is a conversation between a User and a helpful, knowledgeable "
    "Assistant. The Assistant answers clearly and accurately."
)

EXAMPLE_TURNS: tuple[tuple[str, str], ...] = (
    (
        "What is the boiling point of water at sea level?",
        "Water boils at 100 degrees Celsius (212 degrees Fahrenheit) at sea level.",
    ),
    (
        "Give me one tip for writing clear emails.",
        "Put the main request in the first sentence, so the reader knows at once what you need.",
    ),
)

#: Stop sequences that end the assistant's turn before it invents the next one.
STOP_SEQUENCES: tuple[str, ...] = (f"\n{USER}:", f"\n{ASSISTANT}:", "\n\n\n")


def render_completion_prompt(
    messages: Sequence[Message],
    examples: Sequence[tuple[str, str]] = EXAMPLE_TURNS,
) -> str:
    """Render chat ``messages`` as a transcript the base model continues."""
    system = "\n".join(m.content.strip() for m in messages if m.role == "system" and m.content.strip())
    parts = [system or DEFAULT_HEADER, ""]
    for user, assistant in examples:
        parts += [f"{USER}: {user}", f"{ASSISTANT}: {assistant}", ""]
    for m in messages:
        if m.role == "system":
            continue
        speaker = USER if m.role == "user" else ASSISTANT
        parts.append(f"{speaker}: {m.content.strip()}")
        if m.role == "assistant":
            parts.append("")
    parts.append(f"{ASSISTANT}:")
    return "\n".join(parts)


def clean_completion(text: str) -> str:
    """Trim whitespace and any trailing speaker label the stop sequences missed."""
    text = text.strip()
    for label in (f"{USER}:", f"{ASSISTANT}:"):
        if text.endswith(label):
            text = text[: -len(label)].rstrip()
    return text
