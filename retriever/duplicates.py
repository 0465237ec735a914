"""One story once: near-duplicate passages among a question's results (a syndicated copy, a wire story re-run with
a changed word, never a changed figure) collapse into the best-ranked one, which names the other articles it also
stands in."""

from __future__ import annotations

import re
from dataclasses import replace

from qa.types import ScoredPassage

# Word 3-grams shared over all of either passage's 3-grams (Jaccard): at or above this, one story. Re-runs of a
# Reuters item differ by a dateline or a figure (about 0.8-0.95); distinct stories on one topic stay under 0.3.
NEAR_DUPLICATE = 0.7
# Shorter passages fold only when their words are the same: in a one-line notice a changed word is the news
# ("The company's implied senior debt rating is BB." against "... is B.": Jaccard 0.75, two stories).
MIN_WORDS = 12
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def shingles(text: str, n: int = 3) -> frozenset[int]:
    """Hashes of the passage's lowercased word ``n``-grams; a passage under ``MIN_WORDS`` words is one shingle of
    all its words, so it matches only a passage with the same words."""
    words = _WORD.findall(text.lower())
    if len(words) < max(n, MIN_WORDS):
        return frozenset({hash(tuple(words))})
    return frozenset(hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1))


def similarity(a: frozenset[int], b: frozenset[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def numbers(text: str) -> frozenset[str]:
    """The figures a passage states: on the wire, a re-run with another figure is another story ("a shortage of
    around 350 mln stg" one day, "300 mln" the next)."""
    return frozenset(_NUMBER.findall(text))


def fingerprint(text: str) -> tuple[frozenset[int], frozenset[str]]:
    return shingles(text), numbers(text)


def same_story(a: tuple[frozenset[int], frozenset[str]], b: tuple[frozenset[int], frozenset[str]],
               threshold: float = NEAR_DUPLICATE) -> bool:
    """Near-duplicates: the same figures, and word 3-grams shared at ``threshold`` or more."""
    return a[1] == b[1] and similarity(a[0], b[0]) >= threshold


def collapse(ranked: list[ScoredPassage], k: int, threshold: float = NEAR_DUPLICATE) -> list[ScoredPassage]:
    """The first ``k`` of ``ranked`` (best first) that are not near-duplicates of a better one; each kept passage
    lists, in ``also_in``, the other documents whose near-duplicates were folded into it."""
    kept: list[tuple[ScoredPassage, tuple, list[str]]] = []
    for sp in ranked:
        own = fingerprint(sp.passage.text)
        twin = next((entry for entry in kept if same_story(own, entry[1], threshold)), None)
        if twin is None:
            if len(kept) == k:
                continue  # only folding into the k kept ones from here on
            kept.append((sp, own, list(sp.also_in)))
        else:
            twin[2].extend(d for d in (sp.passage.doc_id, *sp.also_in)
                           if d != twin[0].passage.doc_id and d not in twin[2])
    return [replace(sp, also_in=tuple(also)) for sp, _, also in kept]
