"""Explicit tables from public datasets' label vocabularies to taxonomy ids.

Why tables and not heuristics: a category assigned to a record is a *known
positive* the label-enhancement model trains on, so every entry must be a claim
we can defend. A label with no honest equivalent in the taxonomy maps to ``()``
(unknown, never negative); a label that covers several categories for *every*
item carrying it maps to all of them. A label that only covers a mix of
categories (HarmBench ``illegal``, JBB ``Physical harm``) maps to ``()``.

Ids refer to the default taxonomy (MLCommons / Llama Guard 3, S1..S14):
S1 violent crimes, S2 non-violent crimes, S3 sex-related crimes, S4 child sexual
exploitation, S5 defamation, S6 specialized advice, S7 privacy, S8 intellectual
property, S9 indiscriminate weapons, S10 hate, S11 suicide & self-harm,
S12 sexual content, S13 elections, S14 code-interpreter abuse (exploits, malware).
"""

from __future__ import annotations

from collections.abc import Mapping

from lance.errors import ConfigError

Ids = tuple[str, ...]

#: Hacking / malware requests: a non-violent crime and an attack on systems.
_CYBER: Ids = ("S2", "S14")

#: OpenAI moderation (Markov et al., 2022), 8 binary labels.
OPENAI_MODERATION: dict[str, Ids] = {
    "S": ("S12",),  # sexual
    "H": ("S10",),  # hate
    "V": ("S1",),  # violence (promotes / glorifies)
    "HR": (),  # harassment of any target: not tied to protected characteristics, so not S10
    "SH": ("S11",),  # self-harm
    "S3": ("S4",),  # sexual/minors
    "H2": ("S10", "S1"),  # hate/threatening: hate that threatens violence against the group
    "V2": ("S1",),  # violence/graphic
}

#: HarmBench SemanticCategory (7 values).
HARMBENCH: dict[str, Ids] = {
    "chemical_biological": ("S9",),
    "copyright": ("S8",),
    "cybercrime_intrusion": _CYBER,
    "illegal": (),  # mixes violent (swatting, hijacking) and non-violent crime
    "misinformation_disinformation": (),  # no misinformation category in the taxonomy
    "harassment_bullying": (),  # mixes hate, sexual coercion and plain bullying
    "harmful": (),  # catch-all
}

#: JailbreakBench JBB-Behaviors Category (10 values).
JBB: dict[str, Ids] = {
    "Harassment/Discrimination": (),  # mixes hate with defamation and body shaming
    "Malware/Hacking": _CYBER,
    "Physical harm": (),  # mixes bombs (S9), shootings (S1) and eating disorders (S11)
    "Economic harm": (),  # gambling, extortion, payday loans: no single category
    "Fraud/Deception": ("S2",),
    "Disinformation": (),
    "Sexual/Adult content": (),  # mixes adult explicit (S12), minors (S4) and coercion (S3)
    "Privacy": ("S7",),
    "Expert advice": ("S6",),
    "Government decision-making": (),  # forgery, nuclear weapons, regulatory loopholes
}

#: StrongREJECT category (6 values).
STRONGREJECT: dict[str, Ids] = {
    "Non-violent crimes": ("S2",),
    "Violence": ("S1",),
    "Disinformation and deception": (),
    "Hate, harassment and discrimination": (),  # includes exploitation and harassment without a protected group
    "Illegal goods and services": ("S2",),  # drugs and weapons crimes are S2 in Llama Guard 3
    "Sexual content": (),  # mixes adult content, minors and sexual coercion
}

#: Do-Not-Answer specific harms (61 values, keyed by the name before the first ':').
DO_NOT_ANSWER: dict[str, Ids] = {
    # Adult Content
    "Explicit Sexual Content": ("S12",),
    "Graphic Violence": ("S1",),
    # Assisting illegal activities
    "Animal Abuse/Cruelty/Poaching": ("S1",),  # the taxonomy's S1 includes animal abuse
    "Copyright Infringement": ("S8",),
    "Financial Crimes": ("S2",),
    "Illegal Digital Activities": _CYBER,
    "Illegal Drugs and Substances": ("S2",),
    "Illegal Trade": ("S2",),
    "Illegitimate surveillance and censorship": ("S7",),  # tracking and spying on people
    "Sexual Exploitation and Pornography": ("S3",),  # non-consensual imagery, blackmail, CSAM requests
    "Substance Abuse": (),  # drinking faster, hiding use: risky, not a crime category
    "Terrorist Activities": ("S1",),
    "Threats and Intimidation": (),  # doxxing, anonymous threats: harassment, no single category
    "Violence and Physical Harm": ("S1",),
    # Causing material harm by disseminating misinformation e.g. in medicine or law
    "Financial Advice": ("S6",),
    "Legal Advice": ("S6",),
    "Medical Advice": ("S6",),
    "Unreliable Experts": (),  # mostly conspiracy / pseudo-science checks
    # Compromise privacy (person/individual)
    "Biometric Data": ("S7",),
    "Educational Information": ("S7",),
    "Financial Information": ("S7",),
    "Medical Information": ("S7",),
    "Personal Identification Information (PII)": ("S7",),
    "Personal Life Information": ("S7",),
    # Disseminating false or misleading information
    "False News": (),
    "Hazardous Activities": (),
    "Misinterpretation or Wrong Context": (),
    "Propaganda": (),
    "Rumors": (),
    # Mental Health or Overreliance Crisis
    "Advice of coping strategies on anger management, anxiety, panic attacks, stress management, "
    "self-esteem and confidence, career guidance and life transitions, family conflict, child and "
    "adolescent behavioral issues,": ("S6",),
    "Consult advice on psychotic disorders, such as Attention Deficit Hyperactivity Disorder (ADHD), "
    "Autism Spectrum Disorder (ASD), Bipolar Disorder, Dissociative Disorder and Eating Disorder and so on.": ("S6",),
    "Depression and Anxiety": ("S6",),
    "Self-Harm": ("S11",),
    # Nudging or advising users to perform unethical or unsafe actions
    "Defamatory Content": ("S5",),
    "Endorsement of Cyberbullying or Online Harassment": (),
    "Endorsement of Unsafe Health Practices": ("S6",),
    "Guide for Risky Pranks, Unsafe Behaviors or Destructive Behavior, Substance Misuse": (),
    "Trolling or Flame baiting": (),
    # Reducing the cost of disinformation campaigns
    "Disinformation": (),
    "Malinformation": (),
    "Spam Content": (),
    # Risks from leaking or inferring sensitive information (organization/gov)
    "Classified Information": (),
    "Confidential Operations": (),
    "Cybersecurity Vulnerabilities": _CYBER,
    "Financial and Budgetary Information": (),
    "Internal Communications": (),
    "Internal Policies and Procedures": (),
    "Legal Information": (),
    "Sensitive Technological Details": ("S8",),  # trade secrets, undisclosed R&D
    # Social stereotypes and unfair discrimination
    "Body Shaming": (),  # body size is not a protected characteristic
    "Disability Discrimination": ("S10",),
    "Gender/Sexual Discrimination": ("S10",),
    "Location Discrimination": ("S10",),  # national origin
    "Other Forms of Discrimination": ("S10",),
    "Racial/Ethnic Discrimination": ("S10",),
    "Religious Discrimination": ("S10",),
    # Toxic language (hate speech)
    "Insult": (),  # insults without a protected group
    "Obscene": (),
    "Other Severe Toxicity": (),
    # Treat Chatbot as a Human
    "Ask for personal information": (),
    "places personal emotional reliance on a chatbot": (),
}

#: CoCoNot subcategories of "Requests with safety concerns" (eval, contrast and preference files).
#: Subcategories of the other four CoCoNot categories are not safety risks and are not mapped.
COCONOT: dict[str, Ids] = {
    "misinformation": (),
    "false information": (),
    "privacy violations": ("S7",),
    "dangerous or sensitive topics": (),  # hacking, home surgery, fake IDs: mixed
    "wildchats": (),  # real user requests, mostly sexual or hateful, some noise
    "copyright violations": ("S8",),
    "triggers for offensive language": ("S10",),  # slurs and stereotypes about groups
    "incomprehensible": (),
}

#: IBM CAST condition_multiple rewrite conditions.
IBM_CAST: dict[str, Ids] = {
    "sexual_content": ("S12",),
    "legal_opinion": ("S6",),
    "hate_speech": ("S10",),
    "crime_planning": ("S2",),  # heists, scams, system exploitation
    "health_consultation": ("S6",),
}

#: refusal_direction's harmful splits carry HarmBench, JBB and StrongREJECT categories (disjoint names).
REFUSAL_DIRECTION: dict[str, Ids] = {**HARMBENCH, **JBB, **STRONGREJECT}

MAPS: Mapping[str, Mapping[str, Ids]] = {
    "openai_moderation": OPENAI_MODERATION,
    "harmbench": HARMBENCH,
    "jbb_behaviors": JBB,
    "strongreject": STRONGREJECT,
    "do_not_answer": DO_NOT_ANSWER,
    "coconot": COCONOT,
    "ibm_cast": IBM_CAST,
    "refusal_direction": REFUSAL_DIRECTION,
}


def do_not_answer_key(specific_harm: str) -> str:
    """The table key of a Do-Not-Answer ``specific_harms`` cell (name before the definition)."""
    return specific_harm.split(":", 1)[0].strip()


def map_label(dataset: str, label: str) -> Ids:
    """Taxonomy ids known to apply to every item of ``dataset`` labelled ``label``.

    Raises ``ConfigError`` for an unknown dataset or label, so a new label in a
    refreshed data file fails loudly instead of silently becoming "unknown".
    """
    table = MAPS.get(dataset)
    if table is None:
        raise ConfigError(f"no label map for dataset {dataset!r}; maps exist for: {', '.join(sorted(MAPS))}")
    key = do_not_answer_key(label) if dataset == "do_not_answer" else label
    try:
        return table[key]
    except KeyError:
        raise ConfigError(
            f"label {label[:80]!r} of dataset {dataset!r} is not in lance.taxonomy.maps; add it (use () if unknown)"
        ) from None


def map_labels(dataset: str, labels: list[str] | tuple[str, ...]) -> Ids:
    """Union of ``map_label`` over several labels, in first-seen order."""
    out: list[str] = []
    for lab in labels:
        for cid in map_label(dataset, lab):
            if cid not in out:
                out.append(cid)
    return tuple(out)
