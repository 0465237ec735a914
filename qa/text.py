"""Word and answer normalisation: lexical retrieval (BM25), SQuAD scoring, answers already given."""

from __future__ import annotations

import re
import string

# News text names the same country several ways; the name check and keyword match treat them as one.
ALIASES = [
    ("uk", ("uk", "u.k.", "britain", "british", "united kingdom", "england")),
    ("us", ("us", "u.s.", "usa", "u.s.a.", "america", "american", "united states", "washington")),
    ("russia", ("russia", "russian", "moscow", "kremlin")),
]
ALIAS_OF = {form.rstrip("."): canon for canon, forms in ALIASES for form in forms if " " not in form}


def norm_word(word: str) -> str:
    w = re.sub(r"['’]s$", "", word.lower()).strip(".’'")
    if w in ALIAS_OF:
        return ALIAS_OF[w]
    # Crude stemming so that Canada/Canadian, weapon/weapons, invade/invasion meet.
    return w[:5] if len(w) > 5 else w


_WORD = re.compile(r"[\w][\w.'’-]*")
STOP_WORDS = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been being has have had do does did "
    "what which who whom whose when where why how that this these those it its as about into than then there "
    "their they them he she his her we our you your i me my not no so if will would can could should may might".split()
)


def lexical_terms(text: str) -> list[str]:
    """Normalised content words, for BM25 and keyword overlap."""
    return [term for _, term in lexical_terms_at(text)]


def lexical_terms_at(text: str) -> list[tuple[int, str]]:
    """``lexical_terms`` with the character offset of the word each term comes from."""
    out = []
    for m in _WORD.finditer(text):
        for part in m.group(0).split("-"):
            if part and part.lower().strip(".'’") not in STOP_WORDS:
                term = norm_word(part)
                if term:
                    out.append((m.start(), term))
    return out


_PUNCT = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official SQuAD script)."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


WH_WORDS = ("what", "who", "when", "where", "why", "how many", "how much", "how", "which", "whose", "whom")
_WH = {w: i + 1 for i, w in enumerate(WH_WORDS)}


def wh_class(question: str) -> int:
    """The question's wh-word as a small integer (0: none), a categorical feature."""
    q = question.lower()
    best, where = 0, len(q) + 1
    for word, code in _WH.items():
        m = re.search(rf"\b{word}\b", q)
        # The earliest wh-word; "how many" before "how" at the same place.
        if m and (m.start() < where or (m.start() == where and len(word) > len(WH_WORDS[best - 1]))):
            best, where = code, m.start()
    return best
