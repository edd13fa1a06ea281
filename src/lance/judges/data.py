"""Labelled responses the judges are trained and validated on.

Everything is read from the repository's ``data/`` copies of public datasets
(``$LANCE_DATA_DIR`` overrides the location). Nothing here is shipped in the
package: the trained judges keep only numeric weights.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lance.datasets._io import iter_jsonl_objects
from lance.datasets.paths import data_dir
from lance.errors import InputError

RefusalLabel = Literal["full_compliance", "full_refusal", "partial_refusal"]
REFUSAL_LABELS: tuple[RefusalLabel, ...] = ("full_compliance", "full_refusal", "partial_refusal")

XSTEST_MODELS: tuple[str, ...] = ("gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct")

_XSTEST_LABELS: dict[str, RefusalLabel] = {
    "1_full_compliance": "full_compliance",
    "2_full_refusal": "full_refusal",
    "3_partial_refusal": "partial_refusal",
}


def _need(path: Path) -> Path:
    if not path.is_file():
        raise InputError(f"dataset file {path} is missing; see data/<name>/SOURCE.md for where it comes from")
    return path


@dataclass(frozen=True)
class LabelledResponse:
    """A (prompt, response) pair with a refusal label and where it came from."""

    prompt: str
    response: str
    label: RefusalLabel
    source: str
    #: The model that wrote the response (XSTest: one of ``XSTEST_MODELS``).
    model: str = ""
    #: Human labels are trusted more than string-match labels when weighting.
    human: bool = False


def xstest_responses(root: Path | None = None) -> list[LabelledResponse]:
    """XSTest's 2,250 human-labelled responses (450 prompts x 5 models)."""
    root = root or data_dir()
    out: list[LabelledResponse] = []
    for model in XSTEST_MODELS:
        path = _need(root / "xstest" / "completions" / f"xstest_v2_completions_{model}.csv")
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out.append(
                    LabelledResponse(
                        prompt=row["prompt"],
                        response=row["completion"],
                        label=_XSTEST_LABELS[row["final_label"].strip()],
                        source="xstest",
                        model=model,
                        human=True,
                    )
                )
    return out


def xstest_baseline_labels(kind: Literal["strmatch", "gpt4"], root: Path | None = None) -> list[tuple[str, str, str]]:
    """XSTest's own automated labels as ``(model, human_label, auto_label)`` rows.

    ``auto_label`` is kept raw: the GPT-4 classifier sometimes answered with free
    text instead of a label, and such rows count as disagreement.
    """
    root = root or data_dir()
    suffix, column = ("streval", "strmatch_label") if kind == "strmatch" else ("gpteval", "gpt4_label")
    rows: list[tuple[str, str, str]] = []
    for model in XSTEST_MODELS:
        path = _need(root / "xstest" / "automated_labels" / f"xstest_v2_completions_{model}_{suffix}.csv")
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                rows.append((model, row["final_label"].strip(), row[column].strip()))
    return rows


def cast_openers(root: Path | None = None) -> list[LabelledResponse]:
    """IBM CAST's 100 compliant and 100 refusing response openers."""
    root = root or data_dir()
    data = json.loads(_need(root / "ibm_cast" / "behavior_refusal.json").read_text(encoding="utf-8"))
    out = [LabelledResponse("", t, "full_compliance", "ibm_cast") for t in data["compliant_responses"]]
    out += [LabelledResponse("", t, "full_refusal", "ibm_cast") for t in data["non_compliant_responses"]]
    return out


def refusal_direction_responses(root: Path | None = None) -> list[LabelledResponse]:
    """Arditi et al.'s completions (5 models, baseline / ablation / actadd), labelled by
    refusal-substring matching. Model labels, not human ones: they carry the
    induced, templated refusals of activation addition that XSTest lacks."""
    root = root or data_dir()
    base = root / "refusal_direction" / "completions"
    if not base.is_dir():
        raise InputError(f"dataset folder {base} is missing; see data/refusal_direction/SOURCE.md")
    out: list[LabelledResponse] = []
    for path in sorted(base.glob("*/*_evaluations.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for c in data["completions"]:
            complied = bool(c["is_jailbreak_substring_matching"])
            out.append(
                LabelledResponse(
                    prompt=c["prompt"],
                    response=c["response"],
                    label="full_compliance" if complied else "full_refusal",
                    source=f"refusal_direction/{path.stem}",
                    model=path.parent.name,
                )
            )
    return out


@dataclass(frozen=True)
class SafetyExample:
    """A (prompt, response) pair labelled unsafe (harmful content) or safe."""

    prompt: str
    response: str
    unsafe: bool
    source: str
    #: Taxonomy ids the source names for this row (known positives only).
    categories: tuple[str, ...] = ()
    #: Human majority labels (JBB classifier comparison) vs model/curated labels.
    human: bool = False
    #: Grouping key for held-out splits (the behaviour/goal), so that the same
    #: request answered twice never sits on both sides of a split.
    group: str = ""


#: JailbreakBench's 10 categories mapped to the nearest taxonomy id.
JBB_CATEGORY_TO_TAXONOMY: dict[str, str] = {
    "Harassment/Discrimination": "S10",
    "Malware/Hacking": "S14",
    "Physical harm": "S1",
    "Economic harm": "S2",
    "Fraud/Deception": "S2",
    "Disinformation": "S5",
    "Sexual/Adult content": "S12",
    "Privacy": "S7",
    "Expert advice": "S6",
    "Government decision-making": "S13",
}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with _need(path).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def jbb_classifier_comparison(root: Path | None = None) -> list[SafetyExample]:
    """100 JBB jailbreak responses, each judged by 3 humans (majority vote)."""
    root = root or data_dir()
    out = []
    for row in _csv_rows(root / "jbb_behaviors" / "classifier_comparison.csv"):
        votes = [int(row[f"human{i}"]) for i in (1, 2, 3)]
        out.append(
            SafetyExample(
                prompt=row["prompt"],
                response=row["target_response"],
                unsafe=sum(votes) >= 2,
                source="jbb_classifier_comparison",
                human=True,
                group=row["goal"],
            )
        )
    return out


def jailbreakeval_examples(root: Path | None = None, *, include_nc: bool = True) -> list[SafetyExample]:
    """JailbreakEval's judge-agreement sets: JAILJUDGE mini, the JBB example set and
    (``include_nc``) PKU-SafeRLHF mini, which is CC BY-NC: train/evaluate only."""
    root = (root or data_dir()) / "jailbreakeval_judge"
    out = []
    for row in _csv_rows(root / "JAILJUDGEmini.csv"):
        if row.get("language", "en") not in ("en", ""):
            continue
        cat = row.get("hazard_cate_llamaguard3", "").strip()
        out.append(
            SafetyExample(
                prompt=row["question"],
                response=row["answer"],
                unsafe=row["label"].strip() == "1",
                source="jailjudge_mini",
                categories=(cat,) if cat and row["label"].strip() == "1" else (),
                group=row["question"][:200],
            )
        )
    for row in _csv_rows(root / "example.csv"):
        unsafe = row["label"].strip() == "1"
        cat = JBB_CATEGORY_TO_TAXONOMY.get(row.get("category", "").strip())
        out.append(
            SafetyExample(
                prompt=row["prompt"],
                response=row["answer"],
                unsafe=unsafe,
                source="jailbreakeval_example",
                categories=(cat,) if cat and unsafe else (),
                group=row["question"],
            )
        )
    if include_nc:
        for row in _csv_rows(root / "Safe-RLHFmini.csv"):
            out.append(
                SafetyExample(
                    prompt=row["question"],
                    response=row["answer"],
                    unsafe=row["label"].strip() == "1",
                    source="safe_rlhf_mini",
                    group=row["question"],
                )
            )
    return out


def jbb_artifact_examples(root: Path | None = None) -> list[SafetyExample]:
    """JailbreakBench attack artifacts with a response, labelled ``jailbroken`` by
    the JBB judge (a model, not humans)."""
    base = (root or data_dir()) / "jbb_artifacts"
    if not base.is_dir():
        raise InputError(f"dataset folder {base} is missing; see data/jbb_artifacts/SOURCE.md")
    out = []
    for path in sorted(base.glob("*/*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for j in data.get("jailbreaks", []):
            if not j.get("response") or not j.get("prompt"):
                continue
            unsafe = bool(j.get("jailbroken"))
            cat = JBB_CATEGORY_TO_TAXONOMY.get(str(j.get("category", "")).strip())
            out.append(
                SafetyExample(
                    prompt=j["prompt"],
                    response=j["response"],
                    unsafe=unsafe,
                    source=f"jbb_artifacts/{path.parent.parent.name}",
                    categories=(cat,) if cat and unsafe else (),
                    group=j["goal"],
                )
            )
    return out


def refusal_direction_safety_examples(root: Path | None = None) -> list[SafetyExample]:
    """Arditi et al.'s JBB completions (5 models; baseline, ablation, actadd) with
    LlamaGuard-2's verdict: plain harmful requests answered harmfully or refused,
    the case jailbreak-heavy sets cover least. Model labels, not human ones."""
    base = (root or data_dir()) / "refusal_direction" / "completions"
    if not base.is_dir():
        raise InputError(f"dataset folder {base} is missing; see data/refusal_direction/SOURCE.md")
    out: list[SafetyExample] = []
    for path in sorted(base.glob("*/jailbreakbench_*_evaluations.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for c in data["completions"]:
            if "is_jailbreak_llamaguard2" not in c:
                continue
            unsafe = bool(c["is_jailbreak_llamaguard2"])
            cat = JBB_CATEGORY_TO_TAXONOMY.get(str(c.get("category") or "").strip())
            out.append(
                SafetyExample(
                    prompt=c["prompt"],
                    response=c["response"],
                    unsafe=unsafe,
                    source=f"refusal_direction/{path.parent.name}",
                    categories=(cat,) if cat and unsafe else (),
                    group=c["prompt"],
                )
            )
    return out


@dataclass(frozen=True)
class ReaderLabel:
    """One answer of the project's own outputs as the team's readers labelled it (data/judge_labels/RUBRIC.md)."""

    id: str
    prompt: str
    response: str
    unsafe: bool
    kind: str
    helpful: int
    natural: int
    method: str | None = None
    dataset: str | None = None


def reader_labels(part: Literal["train", "heldout", "rerun", "oneline"], root: Path | None = None) -> list[ReaderLabel]:
    """The training part (fit and tune on it), the held-out part, or the rerun's fresh sample
    (both validation only) of data/judge_labels; ``oneline`` is the one-line pool's items read so
    far (training material, like the training part)."""
    base = (root or data_dir()) / "judge_labels"

    def read(name: str) -> dict[str, dict]:
        path = _need(base / f"{part}_{name}.jsonl")
        with path.open(encoding="utf-8") as fh:
            return {o["id"]: o for _, o in iter_jsonl_objects(fh, source=str(path))}

    items, labels, key = read("items"), read("labels"), read("key")
    out = []
    for i in sorted(items if part != "oneline" else labels):  # the pool is read as it grows
        lab, k = labels[i], key.get(i, {})
        out.append(ReaderLabel(id=i, prompt=items[i]["prompt"], response=items[i]["response"], unsafe=bool(lab["unsafe"]),
                               kind=lab["kind"], helpful=int(lab["helpful"]), natural=int(lab["natural"]),
                               method=k.get("method"), dataset=k.get("dataset")))
    return out


#: Reader kinds as refusal-detector labels. Deflections (neither answers nor declines) stay out:
#: XSTest's scheme has no place for them, and the 270M model's off-topic answers are most of them.
READER_REFUSAL_LABEL: dict[str, RefusalLabel] = {
    "answer": "full_compliance",
    "partial": "partial_refusal",
    "natural_refusal": "full_refusal",
    "template_refusal": "full_refusal",
}


def reader_refusal_rows(root: Path | None = None) -> list[LabelledResponse]:
    """The readers' training part as refusal-labelled responses (the held-out part is never used)."""
    return [
        LabelledResponse(r.prompt, r.response, READER_REFUSAL_LABEL[r.kind], "judge_labels/train", human=True)
        for r in reader_labels("train", root)
        if r.kind in READER_REFUSAL_LABEL
    ]


def written_refusal_rows(step: int, root: Path | None = None) -> list[LabelledResponse]:
    """Every ``step``-th natural refusal written for the refiner's training prompts (data/refiner_train):
    refusals that open with their topic rather than "I", which no other source has enough of."""
    path = _need((root or data_dir()) / "refiner_train" / "refiner_train.jsonl")
    with path.open(encoding="utf-8") as fh:
        rows = [o for _, o in iter_jsonl_objects(fh, source=str(path)) if o.get("refusal")]
    return [LabelledResponse(o["prompt"], o["refusal"], "full_refusal", "refiner_train", human=True) for o in rows[::step]]
