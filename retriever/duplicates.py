"""One story once: near-duplicate passages among a question's results (a syndicated copy, a wire story re-run with
a changed word) collapse into the best-ranked one, which names the other articles it also stands in."""

from __future__ import annotations

import re
from dataclasses import replace

from qa.types import ScoredPassage

# Word 3-grams shared over all of either passage's 3-grams (Jaccard): at or above this, one story. Re-runs of a
# Reuters item differ by a dateline or a figure (about 0.8-0.95); distinct stories on one topic stay under 0.3.
NEAR_DUPLICATE = 0.7
_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = 3) -> frozenset[int]:
    """Hashes of the passage's lowercased word ``n``-grams (its words themselves when it has fewer)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return frozenset({hash(tuple(words))})
    return frozenset(hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1))


def similarity(a: frozenset[int], b: frozenset[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def collapse(ranked: list[ScoredPassage], k: int, threshold: float = NEAR_DUPLICATE) -> list[ScoredPassage]:
    """The first ``k`` of ``ranked`` (best first) that are not near-duplicates of a better one; each kept passage
    lists, in ``also_in``, the other documents whose near-duplicates were folded into it."""
    kept: list[tuple[ScoredPassage, frozenset[int], list[str]]] = []
    for sp in ranked:
        own = shingles(sp.passage.text)
        twin = next((entry for entry in kept if similarity(own, entry[1]) >= threshold), None)
        if twin is None:
            if len(kept) == k:
                continue  # only folding into the k kept ones from here on
            kept.append((sp, own, list(sp.also_in)))
        else:
            twin[2].extend(d for d in (sp.passage.doc_id, *sp.also_in)
                           if d != twin[0].passage.doc_id and d not in twin[2])
    return [replace(sp, also_in=tuple(also)) for sp, _, also in kept]
