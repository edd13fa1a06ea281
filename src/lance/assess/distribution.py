"""The output of assessment: a risk distribution over ``safe`` + K categories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


#: Share of the risk mass a category needs to count as where the risk lies (uniform over the
#: 14 default risk categories is 0.07).
PLACED_SHARE = 0.25


class Part(BaseModel):
    """The stretch of a text whose reading decided its distribution (a window, or a decoded stretch)."""

    model_config = ConfigDict(frozen=True)

    #: Character span in the assessed text.
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    #: How the span was read: ``plain``, or the decodings applied (``base64``, ``hex``, ``leetspeak``,
    #: ``spaced``, joined by ``+``).
    reading: str = "plain"
    #: What the encoder read: the window's text, decoded where it was encoded.
    text: str


class RiskDistribution(BaseModel):
    """Mean of the label-enhancement posterior for one prompt.

    ``probs`` maps every taxonomy id (``safe`` first) to its mass; masses sum to 1.
    ``confidence`` is the Dirichlet's total concentration (higher = surer).
    """

    model_config = ConfigDict(frozen=True)

    text: str
    probs: dict[str, float]
    confidence: float = Field(ge=0.0)
    #: True when some of the input was not read (a window longer than ``encoder.max_chars``, or
    #: ``whole=False`` reading only the opening).
    truncated: bool = False
    #: The window or decoded stretch that decided, when the text was not read whole and as it is
    #: (a long text is read in overlapping windows, an encoded one decoded: the riskiest reading decides).
    part: Part | None = None

    @property
    def p_safe(self) -> float:
        return self.probs.get("safe", 0.0)

    @property
    def risk(self) -> float:
        """Total unsafe mass, 1 - p(safe)."""
        return 1.0 - self.p_safe

    @property
    def top(self) -> str:
        return max(self.probs, key=self.probs.__getitem__)

    def placed(self, categories: Sequence[str], min_share: float = PLACED_SHARE) -> list[str]:
        """Those of ``categories`` that hold at least ``min_share`` of the risk mass.

        The gate can be sure a prompt is unsafe yet spread its risk evenly over the categories
        (about 1/K each, e.g. a propaganda request): then no category is evidence, and naming
        the heaviest one ("code interpreter abuse" for a Khmer Rouge denial article) is wrong.
        """
        risk = self.risk
        return [c for c in categories if risk > 0 and self.probs.get(c, 0.0) / risk >= min_share]

    def named_category(self) -> list[str]:
        """The heaviest risk category when it is ``placed`` (a refusal may name it), else none."""
        return self.placed([c for c, _ in self.top_risks(1)])

    def top_risks(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` risk categories (not ``safe``) with the most mass."""
        items = [(c, p) for c, p in self.probs.items() if c != "safe"]
        return sorted(items, key=lambda cp: cp[1], reverse=True)[:k]

    def to_json(self) -> dict[str, object]:
        """The stable scripting contract of ``lance assess --jsonl``."""
        return {"text": self.text, "distribution": dict(self.probs), "confidence": self.confidence, "top": self.top}


@runtime_checkable
class Assessor(Protocol):
    """Anything that maps texts to risk distributions, batched."""

    def assess(self, texts: Sequence[str]) -> list[RiskDistribution]: ...
