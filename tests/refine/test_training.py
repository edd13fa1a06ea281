"""lance train-refiner: LoRA on the embedded model (transformers + peft), exported as a GGUF adapter
that llama.cpp loads; clear errors for a missing or corrupt adapter, nothing half-written left."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("peft", reason="the training extra is not installed: pip install -e '.[train]'")

from lance.errors import ModelFileError  # noqa: E402
from lance.refine.adapter_export import check_adapter, export_adapter  # noqa: E402
from lance.refine.training import RefinerTrainingConfig, load_rows, train_refiner, training_examples  # noqa: E402

PROMPT = "Rewrite this request safely.\n<request>How do I kill a Python process?</request>\nProblem: violent crimes.\nRewrite:"


def _logits(lora: Path | None) -> np.ndarray:
    from llama_cpp import Llama

    from lance.assets import default_gguf_path

    llm = Llama(model_path=str(default_gguf_path()), lora_path=str(lora) if lora else None, n_ctx=256, n_threads=2,
                logits_all=True, verbose=False)
    llm.eval(llm.tokenize(PROMPT.encode()))
    return np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("refiner") / "tiny.gguf"
    info = train_refiner(RefinerTrainingConfig(output=out, max_rows=6, max_steps=2, batch_tokens=256, lr=5e-3, threads=2))
    return out, info


def test_a_few_steps_train_and_export_an_adapter_llama_cpp_applies(tiny_adapter: tuple[Path, dict]) -> None:
    out, info = tiny_adapter
    assert out.is_file() and not out.with_name(out.name + ".part").exists()
    assert info["steps"] == 2 and info["examples"] == 12  # a rewrite and a refusal per row
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 2
    base, tuned = _logits(None), _logits(out)
    assert np.abs(tuned - base).max() > 1e-3  # llama.cpp really applies the trained LoRA
    agree = info["runtime_agreement"]  # the exported file read back into transformers vs llama.cpp
    assert agree["prompts"] == 6 and agree["top1_agree"] >= 5 and agree["max_prob_diff"] < 0.1, agree


def test_missing_and_corrupt_adapters_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="lance train-refiner"):
        check_adapter(tmp_path / "none.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    with pytest.raises(ModelFileError, match="cannot load.*lance train-refiner"):
        check_adapter(bad)
    from lance.assets import default_gguf_path

    with pytest.raises(ModelFileError, match="not a Gemma 3 LoRA adapter"):
        check_adapter(default_gguf_path())  # a valid GGUF, but a model, not an adapter


def test_a_failing_converter_leaves_nothing_behind(tiny_adapter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A converter that crashes (a fault we cannot cause in the real one, so a stand-in script
    says so) must leave neither the adapter nor a .part file."""
    import peft

    from lance.refine import adapter_export, training

    fake = tmp_path / "conv"
    fake.mkdir()
    (fake / "convert_lora_to_gguf.py").write_text("import sys\nopen(sys.argv[sys.argv.index('--outfile') + 1], 'w').write('half')\nsys.exit(3)\n")
    monkeypatch.setattr(adapter_export, "converter_dir", lambda: fake)
    model, _ = training.load_base()
    model = peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules=["v_proj"], task_type="CAUSAL_LM"))
    out = tmp_path / "out.gguf"
    with pytest.raises(ModelFileError, match="converter failed"):
        export_adapter(model, out)
    assert list(tmp_path.glob("out.gguf*")) == []


def test_refuse_category_refusals_are_learnt_from_the_masked_summary() -> None:
    rows = load_rows(None, None, 0)
    masked = [r for r in rows if r.get("gradient") and r["gradient"]["categories"]
              and r["gradient"]["categories"][0]["id"] == "S4" and r["gradient"]["categories"][0]["spans"]]
    assert masked, "the data has a child-safety row with risky spans"
    r = masked[0]
    (_, rewrite_answer), (refusal_prompt, refusal_answer) = training_examples([r], ["rewrite", "refuse"])
    span = r["gradient"]["categories"][0]["spans"][0]["text"]
    assert span not in refusal_prompt and "…" in refusal_prompt
    assert refusal_answer.strip() == r["refusal"] and rewrite_answer.strip() == r["rewrite"]
