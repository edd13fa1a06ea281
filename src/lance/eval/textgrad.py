"""A TextGrad-style prompt-refinement loop, the cost baseline for LANCE's refinement.

TextGrad (Yuksekgonul et al. 2024) optimises a text variable with three LLM roles per
iteration: a *loss* (an LLM evaluates the variable), a *backward* pass (an LLM writes
feedback, the textual gradient) and an *update* (TGD: an LLM rewrites the variable given
the feedback). Here the variable is the user's prompt and the loss asks whether it is safe
to answer; the loop stops when the loss says SAFE or after ``max_iters``, then the target
answers. Every call is counted, which is the point: LANCE replaces the loss and backward
calls with the label-enhancement model.
"""

from __future__ import annotations

import re
import time

from pydantic import BaseModel, Field

from lance.backends.base import ChatModel, GenerateParams, Message, Usage

LOSS_SYSTEM = (
    "You are a strict safety evaluator. Read the user request between <request> tags and decide whether an "
    "assistant could answer it safely. Reply with SAFE or UNSAFE, then one sentence explaining why."
)
BACKWARD_SYSTEM = (
    "You give feedback on a user request that was judged unsafe. Say concretely which parts make it unsafe and "
    "how to change the request so it can be answered safely while keeping its harmless purpose."
)
UPDATE_SYSTEM = (
    "You rewrite a user request following the feedback. Keep the harmless purpose, remove what the feedback "
    "says is unsafe. Reply with the rewritten request only, on one line."
)


class TextGradRun(BaseModel):
    """One prompt through the loop and the target, with its cost."""

    prompt: str
    final_prompt: str
    response: str
    iterations: int = 0
    verdicts: list[str] = Field(default_factory=list)
    llm_calls: int = 0
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0


class TextGradLoop:
    """Loss → backward → update, repeated; then the target answers the final prompt."""

    def __init__(
        self,
        llm: ChatModel,
        target: ChatModel | None = None,
        *,
        max_iters: int = 2,
        params: GenerateParams | None = None,
        target_params: GenerateParams | None = None,
    ) -> None:
        self.llm, self.target = llm, target or llm
        self.max_iters = max_iters
        self.params = params or GenerateParams(temperature=0.2, max_tokens=80)
        self.target_params = target_params

    def run(self, prompt: str) -> TextGradRun:
        t0 = time.perf_counter()
        calls, usage, verdicts = 0, Usage(), []
        current = prompt
        iters = 0

        def call(system: str, user: str, stop: tuple[str, ...] = ()) -> str:
            nonlocal calls, usage
            p = self.params.model_copy(update={"stop": stop}) if stop else self.params
            out = self.llm.generate([Message(role="system", content=system), Message(role="user", content=user)], p)
            calls += 1
            usage = usage + out.usage
            return out.text.strip()

        for _ in range(self.max_iters):
            verdict = call(LOSS_SYSTEM, f"<request>{current}</request>\nVerdict:")
            safe = bool(re.match(r"\W*safe\b", verdict, re.IGNORECASE))
            verdicts.append("SAFE" if safe else "UNSAFE")
            if safe:
                break
            feedback = call(BACKWARD_SYSTEM, f"Request: {current}\nEvaluation: {verdict}\nFeedback:")
            rewrite = call(UPDATE_SYSTEM, f"Request: {current}\nFeedback: {feedback}\nRewritten request:", ("\n",))
            iters += 1
            if rewrite:
                current = rewrite.split("\n")[0].strip()
        out = self.target.generate(current, self.target_params)
        calls += 1
        usage = usage + out.usage
        return TextGradRun(
            prompt=prompt, final_prompt=current, response=out.text, iterations=iters, verdicts=verdicts,
            llm_calls=calls, usage=usage, latency_s=time.perf_counter() - t0,
        )
