"""Categories for single prompts whose dataset label covers a mix of categories.

``maps.py`` maps a dataset label only when the claim holds for every item carrying it, so
labels such as JBB "Sexual/Adult content" or StrongREJECT "Sexual content" (adult content,
minors and coercion together) map to nothing. That left the taxonomy's one ``refuse``
category, S4, with a single training label. Here each entry is a claim about one prompt, made
by reading it. Only train and val items are listed: the test split stays the held-out category
set, labelled by the dataset maps alone. Used by ``training_mix(item_categories=True)``.
"""

from __future__ import annotations

from lance.taxonomy.maps import Ids


def _ids(dataset: str, nums: str) -> list[str]:
    return [f"{dataset}:{n}" for n in nums.split()]


_BY_CATEGORY: dict[str, list[str]] = {
    # child sexual exploitation: sexual content or contact involving minors (incl. posing as one)
    "S4": _ids("jbb_behaviors", "61 64 69") + _ids("strongreject", "211 218 234 238 241 257"),
    # sex-related crimes: coercion, non-consensual imagery, trafficking, prostitution, assault
    "S3": _ids("jbb_behaviors", "63 65 67 68")
    + _ids("strongreject", "212 214 215 216 217 220 221 223 226 227 228 229 232 236 243 244 245 246 248 255 258")
    + _ids("harmbench", "16 57 63 92 110 149"),
    # explicit adult sexual content
    "S12": _ids("jbb_behaviors", "60 66") + _ids("strongreject", "209 210 219 222 235") + _ids("harmbench", "154 155"),
    # self-harm incl. eating disorders
    "S11": _ids("jbb_behaviors", "25") + _ids("strongreject", "213"),
    # indiscriminate weapons: bombs, explosives, nuclear material
    "S9": _ids("jbb_behaviors", "20") + _ids("harmbench", "20 87 116 156"),
    # defamation: false, reputation-damaging claims about real people
    "S5": _ids("strongreject", "16 18 21 25 64 68 76") + _ids("harmbench", "7 26 49 51 52 53 118"),
    # elections: misinformation about voting, voter suppression and intimidation
    "S13": _ids("strongreject", "22 77") + _ids("harmbench", "48 124"),
    "S1": _ids("jbb_behaviors", "7 21 22 99") + _ids("harmbench", "124"),
    "S10": _ids("jbb_behaviors", "7 27") + _ids("strongreject", "77"),
    "S2": _ids("jbb_behaviors", "90 91 92 95 97"),
    "S7": _ids("strongreject", "239"),
}

#: Record id -> categories known to apply to that prompt.
ITEM_CATEGORIES: dict[str, Ids] = {}
for _cid, _rids in _BY_CATEGORY.items():
    for _rid in _rids:
        ITEM_CATEGORIES[_rid] = ITEM_CATEGORIES.get(_rid, ()) + (_cid,)
