"""Self-made unanswerable examples on a tiny made-up article."""

import random
import re

from reader.squad import SquadExample
from training.negatives import perturbed_negatives, retrieval_negatives

P0 = "The Port Ellery lighthouse was designed by Mira Okafor in 1998 and opened in 2001."
P1 = "The lighthouse keeper, Tomas Berg, lives in Port Ellery with his family."
P2 = "Fishing boats from Dunmore use the harbour every spring, when the herring arrive."
ARTICLE = [P0, P1, P2]

# Entities of the made-up texts, as an NER model would label them.
ENTITIES = {"Mira Okafor": "PERSON", "Tomas Berg": "PERSON", "Port Ellery": "GPE", "Dunmore": "GPE",
            "1998": "DATE", "2001": "DATE", "every spring": "DATE"}


def fake_ner(texts):
    return [[(name, label) for name, label in ENTITIES.items() if name in text] for text in texts]


def _ex(i, question, answer, paragraph=0):
    context = ARTICLE[paragraph]
    return SquadExample(f"q{i}", "Harbour", context, question, ((answer, context.index(answer)),), paragraph)


EXAMPLES = [
    _ex(0, "Who designed the Port Ellery lighthouse?", "Mira Okafor"),
    _ex(1, "When did the lighthouse designed by Mira Okafor open?", "2001"),
    _ex(2, "Who lives in Port Ellery with his family?", "Tomas Berg", 1),
    _ex(3, "What was the first year of the lighthouse's design?", "1998"),
    _ex(4, "Where do the fishing boats come from?", "Dunmore", 2),
]


def test_perturbed_questions_name_what_their_paragraph_does_not_hold():
    out = perturbed_negatives(EXAMPLES, rate=1.0, entities=fake_ner, rng=random.Random(0))
    assert out, "some question must be perturbable"
    originals = {ex.id: ex for ex in EXAMPLES}
    for neg in out:
        source = originals[neg.id.rsplit("-", 1)[0]]
        assert neg.is_impossible and neg.context == source.context and neg.question != source.question
        new_words = set(re.findall(r"\w+", neg.question)) - set(re.findall(r"\w+", source.question))
        if neg.id.endswith("-swap") or neg.id.endswith("-anto"):
            assert new_words
            for word in new_words:  # the swapped-in entity or antonym is absent from the paragraph
                assert not re.search(rf"\b{re.escape(word)}\b", neg.context, re.I), (neg.question, word)
    swaps = [n for n in out if n.id.endswith("-swap")]
    assert swaps and all(any(e in n.question for e in ENTITIES) for n in swaps)


def test_same_seed_same_negatives():
    a = perturbed_negatives(EXAMPLES, rate=1.0, entities=fake_ner, rng=random.Random(3))
    b = perturbed_negatives(EXAMPLES, rate=1.0, entities=fake_ner, rng=random.Random(3))
    assert a == b


def test_retrieval_negative_is_the_best_other_paragraph_without_the_answer():
    out = retrieval_negatives(EXAMPLES, rate=1.0, rng=random.Random(0))
    by_id = {n.id: n for n in out}
    # "Who designed the Port Ellery lighthouse?" shares "Port Ellery" and "lighthouse" with P1, nothing with P2.
    assert by_id["q0-retr"].context == P1 and by_id["q0-retr"].is_impossible
    for neg in out:
        source = next(ex for ex in EXAMPLES if neg.id == f"{ex.id}-retr")
        assert neg.context != source.context and source.answers[0][0] not in neg.context


def test_reversal_swaps_two_names_of_one_kind_unless_symmetric():
    from training.negatives import _reverse

    def reverse(question):
        return _reverse(_ex(5, question, "2001"), fake_ner([question])[0], random.Random(0))

    assert reverse("When did Mira Okafor teach Tomas Berg to sail?") == "When did Tomas Berg teach Mira Okafor to sail?"
    assert reverse("When did Mira Okafor and Tomas Berg meet?") is None  # symmetric
    assert reverse("When did Mira Okafor visit Dunmore?") is None  # a person and a place


def test_every_kind_of_change_is_drawn():
    examples = EXAMPLES + [_ex(5, "When did Mira Okafor teach Tomas Berg to sail?", "2001")]
    kinds = set()
    for seed in range(20):
        kinds |= {n.id.rsplit("-", 1)[1] for n in perturbed_negatives(examples, 1.0, fake_ner, random.Random(seed))}
    assert {"swap", "rev", "anto"} <= kinds
