"""What every reader does last: best-first answers without duplicates."""

from __future__ import annotations

from qa.types import Answer


def postprocess_candidates(candidates: list[Answer], max_answers: int, ranked: bool = False) -> list[Answer]:
    """Best-first answers, deduplicated: by text (ignoring case and edge punctuation), and a span that
    overlaps a better one in the same passage ("architect Mira Okafor" under "Mira Okafor") is the same answer.

    ``ranked``: the candidates come best first already (a calibrated score can tie); else by score."""
    best: dict[str, Answer] = {}
    for a in candidates:
        key = " ".join(a.text.lower().strip(" \t\n.,;:!?\"'“”‘’").split())
        if not key:
            continue
        if key not in best or (a.score > best[key].score and not ranked):
            best[key] = a
    order = list(best.values()) if ranked else sorted(best.values(), key=lambda a: (-a.score, a.passage_id, a.start))
    kept: list[Answer] = []
    for a in order:
        if not any(k.passage_id == a.passage_id and a.start < k.end and k.start < a.end for k in kept):
            kept.append(a)
        if len(kept) == max_answers:
            break
    return kept
