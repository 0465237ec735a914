"""Follow-up questions made standalone from earlier turns, by rules: pronouns, ellipsis, "what else"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from reader.evidence import is_yes_no

# Texts that mention a name (the indexed passages about it): how the articles refer to that person.
About = Callable[[str], list[str]]


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question (already standalone) and the answers given to it."""

    question: str
    answers: tuple[str, ...] = ()
    # The question as the user wrote it, when it was made standalone ("What did she say?"): its pronouns tell
    # the gender of the person they were resolved to.
    asked: str | None = None


@dataclass(frozen=True)
class Rewrite:
    """What to ask: ``question`` is standalone; ``exclude`` are answers already given ("what else")."""

    original: str
    question: str
    exclude: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.question != self.original


class Rewriter(Protocol):
    def rewrite(self, history: Sequence[Turn], question: str, about: About | None = None) -> Rewrite: ...


# --- what a mention is --------------------------------------------------------------------------

# Demonyms, so that "Who is the Canadian foreign minister?" + "And Germany?" asks about the German one.
DEMONYMS = {
    "Germany": "German", "Canada": "Canadian", "Britain": "British", "the U.K.": "British",
    "the United Kingdom": "British", "U.K.": "British", "Russia": "Russian", "Ukraine": "Ukrainian",
    "the U.S.": "American", "U.S.": "American", "the United States": "American", "America": "American",
    "France": "French", "Belarus": "Belarusian", "Spain": "Spanish", "Poland": "Polish", "China": "Chinese",
    "Italy": "Italian", "Japan": "Japanese", "Cuba": "Cuban", "Venezuela": "Venezuelan", "Turkey": "Turkish",
    "Sweden": "Swedish", "Finland": "Finnish", "Norway": "Norwegian", "Denmark": "Danish", "Israel": "Israeli",
    "Iran": "Iranian", "India": "Indian", "Lithuania": "Lithuanian", "Latvia": "Latvian", "Estonia": "Estonian",
    "Georgia": "Georgian", "Hungary": "Hungarian", "Romania": "Romanian", "Austria": "Austrian",
    "Netherlands": "Dutch", "Belgium": "Belgian", "Switzerland": "Swiss", "Australia": "Australian",
    "Mexico": "Mexican", "Brazil": "Brazilian", "Korea": "Korean", "Europe": "European", "Moldova": "Moldovan",
    "Kazakhstan": "Kazakh", "Syria": "Syrian", "Greece": "Greek", "Ireland": "Irish", "Scotland": "Scottish",
    "Portugal": "Portuguese", "Czechia": "Czech", "Slovakia": "Slovak", "Bulgaria": "Bulgarian", "Serbia": "Serbian",
    "Croatia": "Croatian", "Egypt": "Egyptian", "Pakistan": "Pakistani", "Afghanistan": "Afghan", "Iraq": "Iraqi",
    "Nigeria": "Nigerian", "Kenya": "Kenyan", "Argentina": "Argentinian", "Chile": "Chilean", "Vietnam": "Vietnamese",
}
COUNTRY_OF = {d: c for c, d in DEMONYMS.items() if not c.startswith(("the ", "U."))}
PLACES = frozenset(
    list(DEMONYMS) + list(COUNTRY_OF) + """Kyiv Kiev Moscow London Washington Berlin Paris Brussels Geneva Lviv
    Crimea Donbas Minsk Madrid Warsaw Beijing Tokyo Ottawa Africa Asia West East NATO EU UN Kremlin
    Connecticut Hampshire""".split()
)
# A capitalised mention with one of these words names an organisation or a place, not a person.
GROUP_WORDS = frozenset(
    """Ministry Times News Agency Forces Command House Government Council Union Party Department Office Army
    Navy Parliament Congress Senate Court Bank Company Group Committee Commission University Republic Kingdom
    States Nations Peninsula Commons Interfax Embassy Post Journal Reuters Press Service Operation Organization
    Alliance Federation Guard Police Assembly Club Institute Foundation Association Corporation Inc Ltd
    Cup Games Olympics Championship Championships League Tournament Prize Award Awards Festival Summit Conference
    Marathon War Treaty""".split()  # events too: "What did she warn?" after the World Cup is not about it
)
# Words that start a capitalised run without being part of a name.
NOT_NAMES = frozenset(
    """What Who Whom Whose When Where Which Why How Is Are Was Were Did Does Do Has Have Had Can Could Will Would
    Should And But Or The A An In On At To For Of By With From About According If Then Also Tell Give Name List
    Please I It He She They We You His Her Its Their Our My Your This That These Those There Else Any Anything
    Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec January February March April May June July August September
    October November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday""".split()
)
TITLES = frozenset(
    """Sen Senator Rep President Vice Prime Minister Foreign Defense Defence Secretary Chancellor Mr Mrs Ms Dr
    Deputy Spokesperson Spokesman Spokeswoman General Gen Adm Admiral King Queen Prince Pope Sir Lord Lady
    Governor Gov Mayor Ambassador Chief Director Leader""".split()
) | frozenset(  # kinship and plain person words name a role too: "Grandmother" is nobody's name, so never "he"
    """Mother Father Mom Mum Dad Grandmother Grandfather Grandma Grandpa Wife Husband Son Daughter Brother Sister
    Uncle Aunt Cousin Nephew Niece Boy Girl Man Woman Child Baby Parents Family Friend Police Officials""".split()
)

_CAP_RUN = re.compile(  # a possessive ends a run: "Kuwait's OPEC quota" names Kuwait, then OPEC
    r"(?:\bthe\s+)?(?:[A-Z][\w.’'-]*)(?:(?<!['’]s)\s+(?:of\s+|de\s+|von\s+|van\s+|al-)?[A-Z][\w.’'-]*)*"
)
_POSSESSIVE = re.compile(r"['’]s?$")


@dataclass(frozen=True)
class Mention:
    text: str
    person: bool
    demonym: bool = False

    @property
    def kind(self) -> str:
        if self.person:
            return "person"
        bare = self.text.removeprefix("the ")
        known = bare in DEMONYMS or self.text in DEMONYMS or f"the {bare}" in DEMONYMS  # "United Kingdom" too
        return "country" if self.demonym or known or is_territory(bare) else "thing"


_TERRITORIES: frozenset[str] | None = None


def is_territory(name: str) -> bool:
    """Whether ``name`` is a country or region by its English name in the Unicode CLDR (babel, which serving already
    installs through trafilatura): "Qatar" is a place, not a person, though no table here lists it."""
    global _TERRITORIES
    if _TERRITORIES is None:
        from babel import Locale  # 50 ms, once

        _TERRITORIES = frozenset(n for n in Locale("en").territories.values() if n[:1].isupper())
    return name in _TERRITORIES


def _clean(run: str) -> str:
    return _POSSESSIVE.sub("", run.strip()).rstrip(",;:?!")


def mentions(text: str, sentence_start: bool = True) -> list[Mention]:
    """Capitalised runs of ``text`` that name someone or something, in order, titles dropped."""
    found = []
    for m in _CAP_RUN.finditer(text):
        words = _clean(m.group(0)).split()
        lead = "the " if words and words[0] == "the" else ""
        words = words[1:] if lead else words
        # Leading question words, titles and demonyms ("German Foreign Minister") are not the name.
        while words and (words[0].rstrip(".") in NOT_NAMES or words[0].rstrip(".") in TITLES):
            words = words[1:]
        demonym_only = len(words) == 1 and words[0] in COUNTRY_OF
        # "the Ukrainian Foreign Ministry" is an organisation's name: its words stay.
        if not any(w.rstrip(".,") in GROUP_WORDS for w in words):
            while len(words) > 1 and (words[0] in COUNTRY_OF or words[0].rstrip(".") in TITLES):
                words = words[1:]
        if not words or len(words) == 1 and words[0].rstrip(".") in TITLES:
            continue  # "German Foreign Minister" names a role, not who holds it: no one to call "she"
        name = " ".join(words)
        if demonym_only:
            found.append(Mention(name, person=False, demonym=True))
            continue
        group = (name in PLACES or is_territory(name) or any(w.rstrip(".,") in GROUP_WORDS for w in words) or lead
                 or re.fullmatch(r"(?:[A-Z]\.)+|[A-Z]{2,}", name) is not None)
        found.append(Mention(lead + name, person=not group))
    return found


def _bare(answer: str) -> str:
    """An answer without the quotes, commas and full stops around it, and without any space left at its edges
    (any whitespace: a client may send back "\u00a0")."""
    return answer.strip().strip("\"“”'.,").strip()


def _answer_mention(turn: Turn) -> Mention | None:
    """The first answer as a mention, when it is a name (a date or a number is not an antecedent)."""
    if not turn.answers:
        return None
    answer = _bare(turn.answers[0])
    if not answer or re.search(r"\d", answer) or len(answer.split()) > 8 or _NUMBER_WORDS.fullmatch(answer):
        return None
    # "the generals were received by Ouattara": a finite verb makes it a statement, not something to call "it".
    if any(w in _AUX for w in answer.split()[1:]):  # lowercase only: "Theresa May" is a name
        return None
    found = mentions(answer)
    if len(found) > 1 and re.search(r"\band\b|&", answer):
        # "United Arab Emirates and Kuwait": both are "they", neither alone, and no "he".
        return Mention(answer, person=False)
    if found and _PLACE_QUESTION.match(turn.question):
        # "Which country ...?" is answered by a place or an organisation, whatever its name looks like.
        found = [Mention(found[0].text, person=False, demonym=found[0].demonym)]
    if found and len(found[0].text.split()) >= len(answer.split()) - 3:
        lower = [w for w in answer.split() if w[0].islower() and w not in ("the", "of", "and")]
        # "the Interfax news agency" is the whole answer; "German Foreign Minister Annalena Baerbock" the name.
        return Mention(answer, person=found[0].person) if lower else found[0]
    # A lowercase noun phrase ("anti-tank weapons") is a thing, and can be "it" or "they"; a clause or
    # a verb phrase ("helping to develop ...", "that Kyiv had ...") is not.
    if _opens_clause(answer, _CLAUSE_OPENERS):
        return None
    return Mention(answer, person=False)


# A count or a rank ("fifth", "two dozen", "hundreds") is an answer, never what "they" or "it" points at.
_NUMBER_WORDS = re.compile(
    r"(?:(?:a|an|about|some|over|nearly|almost|more than|at least)\s+)?(?:(?:one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|first|second|third|fourth|"
    r"fifth|sixth|seventh|eighth|ninth|tenth|twelfth|twentieth|last|once|twice|several|few|many|none)[\s-]*)+",
    re.I)
# Words that open a clause or a verb phrase ("that Kyiv had ...", "to develop ..."), as "-ing" words do.
_CLAUSE_OPENERS = frozenset("to that because if when as".split())
# ... and a statement's subject ("She said the town could not ..."): such an answer is referred to as "that".
_STATEMENT_OPENERS = _CLAUSE_OPENERS | frozenset("i we you he she they it this so".split())


def _opens_clause(answer: str, openers: frozenset[str]) -> bool:
    """Whether ``answer`` (non-blank) starts like a clause or a verb phrase rather than a noun phrase."""
    first = answer.split()[0].lower()
    return first.endswith("ing") or first in openers


# --- the rules ------------------------------------------------------------------------------------

PERSON_PRONOUNS = {"he": "subj", "she": "subj", "him": "obj", "his": "poss", "her": "her", "himself": "obj", "herself": "obj"}
PRONOUN_GENDER = {"he": "male", "him": "male", "his": "male", "himself": "male",
                  "she": "female", "her": "female", "herself": "female"}


def name_gender(name: str) -> str | None:
    """"male" or "female" when the first name says so clearly (gender-guesser's name lists), else None."""
    first = name.removeprefix("the ").split()[0] if name.strip() else ""
    if not first[:1].isupper():
        return None
    global _DETECTOR
    if _DETECTOR is None:
        import gender_guesser.detector as detector  # 0.2 s, only when a he/she needs its person

        _DETECTOR = detector.Detector(case_sensitive=False)
    guess = _DETECTOR.get_gender(first)
    return {"male": "male", "mostly_male": "male", "female": "female", "mostly_female": "female"}.get(guess)


_DETECTOR = None
_HONORIFICS = {"mr": "male", "sir": "male", "lord": "male", "king": "male", "prince": "male", "mrs": "female",
               "ms": "female", "miss": "female", "madam": "female", "lady": "female", "dame": "female",
               "queen": "female", "princess": "female"}


_HE = re.compile(r"\b(?:he|him|his|himself)\b", re.I)
_SHE = re.compile(r"\b(?:she|her|hers|herself)\b", re.I)


def text_gender(name: str, texts: list[str], reach: int = 300) -> str | None:
    """he or she in the articles right after the name (its paragraph says who the name is), when one wins."""
    surname = name.split()[-1]
    he = she = 0
    for text in texts:
        for m in re.finditer(re.escape(surname), text):
            after = text[m.end() : m.end() + reach]
            he, she = he + len(_HE.findall(after)), she + len(_SHE.findall(after))
    return "male" if he > she else "female" if she > he else None


def pronoun_gender(turns: Sequence[Turn]) -> dict[str, str]:
    """Names the user already called he or she: a turn asked with only one gender's pronouns whose standalone
    form names one person the asked form did not."""
    known: dict[str, str] = {}
    for turn in turns:
        if not turn.asked or turn.asked == turn.question:
            continue
        genders = {PRONOUN_GENDER[w] for w in re.findall(r"\w+", turn.asked.lower()) if w in PRONOUN_GENDER}
        new = [m.text for m in mentions(turn.question) if m.person and m.text not in turn.asked]
        if len(genders) == 1 and len(set(new)) == 1:
            known[new[0]] = genders.pop()
    return known


def mention_gender(name: str, said: str, about: About | None = None, known: dict[str, str] | None = None) -> str | None:
    """A person's gender as the text tells it: an honorific before the name ("Ms. Okafor") where it was
    said, else how the user already referred to them (``known``), else the first name, else the pronouns after
    the name in the articles about it (``about``)."""
    m = re.search(r"\b(" + "|".join(_HONORIFICS) + r")\.?\s+" + re.escape(name.split()[0]), said, re.I)
    if m:
        return _HONORIFICS[m.group(1).lower()]
    if known and name in known:
        return known[name]
    gender = name_gender(name)
    if gender is None and about is not None:
        gender = text_gender(name, about(name))
    return gender
THING_PRONOUNS = {"it": "subj", "its": "poss", "they": "subj", "them": "obj", "their": "poss"}
# After "her" these words mean it is an object ("about her"), not a possessive ("her country").
_NOT_NOUNS = frozenset("about to for with in on at by from and or say said , ? . !".split())
_ELLIPSIS = re.compile(r"^\s*(?:and|but|so|also|then)?\s*(?:what|how)\s+about\s+(.+?)\s*\??\s*$|^\s*(?:and|but)\s+(.+?)\s*\??\s*$", re.I)
# A bare question word ("When?", "And where?", "How many?"): the previous question asked again with it.
_BARE_WH = re.compile(r"^\s*(?:and|but|so)?\s*(when|where|why|how|how\s+(?:many|much|long|often|old))\s*[?.!]*\s*$", re.I)
# A question whose wh-phrase is its object: "What weapons did Britain send?", "Who did Melanie Joly meet?".
_OBJECT_SLOT = re.compile(r"^\s*(?:what|which|who|whom|how\s+many|how\s+much)((?:\s+[a-z-]+){0,2}?)\s+(did|does|do|has|have|had|will|would|"
                          r"can|could|should|might)\s+(.+?)\s*\?\s*$", re.I)
# A question asking when, where, why or how: "Why did Wallace invite Shoygu?" + "When?" swaps the question word.
_ADVERB_SLOT = re.compile(r"^\s*(?:when|where|why|how)\s+(did|does|do|has|have|had|will|would|can|could|should|might|"
                          r"is|are|was|were)\s+(.+?)\s*\?\s*$", re.I)
# An object pronoun as the subject of a passive: "Who appointed him?" + "Why?" → "Why was he appointed?".
_SUBJECT_FORM = {"him": "he", "her": "she", "them": "they", "us": "we", "me": "I"}
# A question whose subject was asked for, with a regular past verb: "Who (first) appointed Volcker?".
_SUBJECT_DONE = re.compile(r"^\s*(?:and|but|so)?\s*who\s+((?:first|last|later|then|finally|originally)\s+)?"
                           r"([a-z]+ed)\s+(.+?)\s*\?\s*$", re.I)
# "Who?" or "What?" after a yes/no question about someone or something: "Was someone bought out?" + "Who?".
_BARE_WHO = re.compile(r"^\s*(?:and|but|so)?\s*(who|what)\s*[?.!]*\s*$", re.I)
# "Why not?" after a yes/no question: "Did Germany send tanks?" + "Why not?" asks why it did not.
_WHY_NOT = re.compile(r"^\s*(?:and|but|so)?\s*why\s+not\s*[?.!]*\s*$", re.I)
# The auxiliary's negative, so that the rest of the question needs no parse: "Why didn't Germany send tanks?".
_NEGATED = {"did": "didn't", "does": "doesn't", "do": "don't", "has": "hasn't", "have": "haven't", "had": "hadn't",
            "will": "won't", "would": "wouldn't", "can": "can't", "could": "couldn't", "should": "shouldn't",
            "is": "isn't", "are": "aren't", "was": "wasn't", "were": "weren't"}
# A "no" in the sentence that answered a yes/no question: only then does "Why not?" ask why it did not.
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|nobody|nothing|refus\w*|den(?:y|ied|ies)|declin\w*|"
                       r"reject\w*)\b|n['’]t\b", re.I)
_INDEFINITE = re.compile(r"\b(?:someone|somebody|anyone|anybody|something|anything)(?:\s+else)?\b\s*", re.I)
# A yes/no question: "Did Wallace invite Shoygu?" + "Why?" asks why he did.
_YES_NO_SLOT = re.compile(r"^\s*(?:and|but|so)?\s*(did|does|do|has|have|had|will|would|can|could|should|might|is|are|was|"
                          r"were)\s+(.+?)\s*\?\s*$", re.I)

_PLACE_QUESTION = re.compile(
    r"^\s*(?:which|what|where)\b(?:\s+(?:country|countries|nation|state|city|town|region|place|organi[sz]ation|"
    r"agency|newspaper|paper|company|party|group|alliance|ministry|union)\b|\s)", re.I)
_COPULAR = re.compile(r"^((?:who|what|where|when|which)\s+(?:is|are|was|were))\s+.+\?$", re.I)
# A question whose wh-phrase is its subject: "Which country has started supplying ...?", "Who is leading ...?".
_SUBJECT_SLOT = re.compile(r"^\s*(?:who|which\s+\w+|what\s+(?:country|countries|nation|state|city|organi[sz]ation|"
                           r"agency|newspaper|company|party|group))\s+(is|are|was|were|has|have|had|will|would|can|"
                           r"could|should|might)\s+(.+?)\s*\?\s*$", re.I)
_ADVERBIAL_QUESTION = re.compile(r"^\s*(?:and|but|so)?\s*(?:when|where|why|how)\b(?!\s+(?:many|much)\b)", re.I)
_WH = ("what", "who", "whom", "when", "where", "which", "why", "how")
_AUX = frozenset("is are was were do does did has have had will would can could should may might".split())


def _yes_no_slot(question: str) -> re.Match | None:
    """A yes/no question (reader.evidence.is_yes_no) split into its auxiliary and the rest; None for any other."""
    m = _YES_NO_SLOT.match(question)
    return m if m and is_yes_no(question) else None


_DETERMINERS = frozenset("the a an his her its their our my your this that these those".split())
# Where an object goes in "Solberg say about the new wall": before the verb's preposition ("of" binds to a noun).
_PREPOSITIONS = frozenset("""about to for with in on at by from into onto over under against during after before since
    through across toward towards upon without between among""".split())


def _filler(previous: Turn) -> str | None:
    """What the previous answer contributes as the object a follow-up asks about: a name or a short noun phrase
    (a number too: "42 million dollars"), "that" for a statement; None without an answer."""
    mention = _answer_mention(previous)
    if mention is not None:
        return mention.text
    if not previous.answers:
        return None
    answer = _bare(previous.answers[0])
    if not answer:
        return None
    return answer if len(answer.split()) <= 6 and not _opens_clause(answer, _STATEMENT_OPENERS) else "that"


def _with_object(rest: str, filler: str | None) -> str:
    """``rest`` ("Solberg say about the new wall") with ``filler`` as the verb's object: before the first preposition
    after the verb ("Solberg say that about the new wall"), else at the end ("Britain send light anti-armor"). The
    verb is taken to be the first lowercase word not right after a determiner (which would make it a noun)."""
    if not filler:
        return rest
    words = rest.split()
    seen_verb = False
    for i, word in enumerate(words):
        low = word.lower()
        if seen_verb and low in _PREPOSITIONS:
            return " ".join(words[:i] + [filler] + words[i:])
        if (word[:1].islower() and low not in _DETERMINERS and low not in _PREPOSITIONS and low != "of"
                and (i == 0 or words[i - 1].lower() not in _DETERMINERS)):
            seen_verb = True
    return f"{rest} {filler}"


def article_form(name: str, about: About | None = None) -> str:
    """The form the articles use for a person: news names someone in full once and by surname after ("German
    Foreign Minister Annalena Baerbock", then "Baerbock said"), and a question is best asked in the words of the
    passages that answer it. The surname when the passages about the person (``about``) say it alone at least as
    often as the full name; else the name as given."""
    parts = name.split()
    if about is None or len(parts) < 2:
        return name
    surname = re.compile(rf"\b{re.escape(parts[-1])}\b")
    texts = about(name)
    full = sum(t.count(name) for t in texts)
    alone = sum(len(surname.findall(t)) for t in texts) - full
    return parts[-1] if alone > 0 and alone >= full else name


def _possessive(name: str) -> str:
    return name + ("’" if name.endswith("’") else "'s")


class RuleRewriter:
    """Extractive and offline: resolves from names in earlier questions and answers, else leaves be."""

    def __init__(self, max_turns_back: int = 3):
        self.max_turns_back = max_turns_back

    def rewrite(self, history: Sequence[Turn], question: str, about: About | None = None) -> Rewrite:
        """``about``: the indexed texts that mention a name, for telling he from she when nothing else does."""
        original = question.strip()
        if not history:
            return Rewrite(original, original)
        recent = list(history)[-self.max_turns_back:]
        text, exclude = self._what_else(recent, original)
        elided = self._ellipsis(recent[-1], text)
        if elided is not None:
            text = elided
        else:
            text = self._pronouns(recent, text, about)
        return Rewrite(original, text, exclude)

    # "What else did she say?" asks the same thing again minus what was already answered.
    def _what_else(self, recent: list[Turn], question: str) -> tuple[str, tuple[str, ...]]:
        if not re.search(r"\belse\b", question, re.I):
            return question, ()
        text = re.sub(r"\s*\belse\b", "", question, count=1, flags=re.I)
        # The previous answer, and those of earlier turns that asked the same (a chain of "what else").
        last = recent[-1]
        if re.fullmatch(r"\s*(?:what|who|which|where|anything|anyone|anybody)\s*[?.!]*\s*", text, re.I):
            text = last.question  # a bare "What else?" asks the previous question again
        given = [a for t in recent if t is last or t.question == last.question for a in t.answers]
        return text, tuple(dict.fromkeys(given))

    def _ellipsis(self, previous: Turn, question: str) -> str | None:
        bare = _BARE_WH.match(question)
        if bare:
            return self._bare_wh(previous, bare.group(1))
        if _WHY_NOT.match(question):
            return self._why_not(previous)
        who = _BARE_WHO.match(question)
        if who:
            return self._indefinite(previous, who.group(1))
        m = _ELLIPSIS.match(question)
        if not m:
            return None
        rest = (m.group(1) or m.group(2)).strip()
        words = rest.split()
        if not words or len(words) > 6:  # "And \t?" names nothing
            return None
        if words[0].lower() in _WH:
            return self._swap_wh_phrase(previous.question, rest)
        new = mentions(rest)
        copular = _COPULAR.match(previous.question.strip())
        if copular and (not new or any(w[0].islower() for w in words if w not in ("the", "a", "an"))):
            # "Who is the Ukrainian prime minister?" + "And the Belarusian president?": a new subject.
            return f"{copular.group(1)} {rest}?"
        if not new:
            return None
        target = new[0]
        slot = _SUBJECT_SLOT.match(previous.question)
        answered = _answer_mention(previous)
        if slot and answered is not None and answered.kind == target.kind and not copular:
            # "Which country has started supplying Ukraine ...?" (the U.K.) + "And Canada?": Canada takes the
            # answer's place, as a yes/no question, not the place of another name in the question.
            return f"{slot.group(1).capitalize()} {target.text} {slot.group(2)}?"
        olds = [m for m in mentions(previous.question) if m.text.lower() != target.text.lower()]
        # Replace a mention of the same kind: country for country, person for person, place for place.
        same = [o for o in olds if o.kind == target.kind]
        if not same:
            return None
        old = same[0]
        replacement = target.text
        if old.demonym and target.text not in COUNTRY_OF:
            # "the Canadian foreign minister" + "And Germany?" → "the German foreign minister".
            replacement = DEMONYMS.get(target.text, DEMONYMS.get(target.text.removeprefix("the "), target.text))
        # "the U.K." → "Canada", not "the Canada".
        needs_the = replacement.startswith(("U.", "United ", "Netherlands")) or replacement[0].islower()
        pattern = (r"\bthe\s+" if not needs_the else "") + re.escape(old.text.removeprefix("the "))
        if not old.demonym and re.search(pattern, previous.question) and not replacement.startswith("the "):
            return re.sub(pattern, replacement.replace("\\", ""), previous.question, count=1)
        return previous.question.replace(old.text, replacement, 1)

    @staticmethod
    def _bare_wh(previous: Turn, wh: str) -> str | None:
        """"What weapons did Britain send?" (light anti-armor) + "When?" → "When did Britain send light anti-armor?";
        + "How many?" → "How many weapons did Britain send?". The previous answer fills the object the previous
        question asked for (else its noun); after a when/where/why/how question the question word is swapped
        ("Why did ...?" + "When?" → "When did ...?"); a question whose wh-phrase was its subject, or a copula, is
        left."""
        wh = " ".join(wh.split()).capitalize()
        adverb = _ADVERB_SLOT.match(previous.question)
        if adverb and wh not in ("How many", "How much"):
            return f"{wh} {adverb.group(1).lower()} {adverb.group(2)}?"
        yes_no = _yes_no_slot(previous.question)
        if yes_no:
            # "Did Wallace invite Shoygu?" + "When?" → "When did Wallace invite Shoygu?" (not "How many": no noun).
            return f"{wh} {yes_no.group(1).lower()} {yes_no.group(2)}?" if wh not in ("How many", "How much") else None
        m = _OBJECT_SLOT.match(previous.question)
        if not m:
            done = _SUBJECT_DONE.match(previous.question)
            if done and wh not in ("How many", "How much"):
                # "Who first appointed Volcker?" + "When?" → "When was Volcker first appointed?": the passive needs no
                # base form of the verb (a regular past tense is its participle); the asker names no agent either.
                adverb, verb, thing = done.group(1) or "", done.group(2), done.group(3)
                thing = _SUBJECT_FORM.get(thing.lower(), thing)
                last = thing.split()[-1]
                plural = thing in ("they", "we") or (last.islower() and last.endswith("s") and not last.endswith("ss"))
                return f"{wh} {'were' if plural else 'was'} {thing} {adverb}{verb}?"
            return None
        noun, aux, rest = m.group(1).strip(), m.group(2).lower(), m.group(3)
        if wh in ("How many", "How much"):
            return f"{wh} {noun + ' ' if noun else ''}{aux} {rest}?"
        filler = _filler(previous) or noun
        return f"{wh} {aux} {_with_object(rest, filler)}?"

    @staticmethod
    def _why_not(previous: Turn) -> str | None:
        """"Did Germany send tanks?" + "Why not?" → "Why didn't Germany send tanks?", when the answer before said
        no (or there was none); left after a yes, after any other question, or with no plain negative ("Might")."""
        yes_no = _yes_no_slot(previous.question)
        negated = _NEGATED.get(yes_no.group(1).lower()) if yes_no else None
        if negated is None or previous.answers and not _NEGATION.search(previous.answers[0]):
            return None  # not a yes/no question; or its answer said yes ("Speaking Monday on a visit to Kyiv, ...")
        return f"Why {negated} {yes_no.group(2)}?"

    @staticmethod
    def _indefinite(previous: Turn, wh: str) -> str | None:
        """"Was someone bought out?" + "Who?" → "Who was bought out?"; "Did he hit anything?" + "What?" → "What did he
        hit?". Without someone/something in a yes/no question before it, "Who?" is left."""
        yes_no = _yes_no_slot(previous.question)
        found = list(_INDEFINITE.finditer(yes_no.group(2))) if yes_no else []
        if len(found) != 1:
            return None
        said, m = yes_no.group(2), found[0]
        rest = (said[: m.start()] + said[m.end() :]).strip()
        wh = wh.capitalize() + (" else" if "else" in m.group(0).lower() else "")  # "anyone else hurt" → "Who else"
        return f"{wh} {yes_no.group(1).lower()} {rest}?" if rest else None

    @staticmethod
    def _swap_wh_phrase(previous: str, rest: str) -> str | None:
        """"How many combat vehicles does ...?" + "And how many aircraft?" → "How many aircraft does ...?"."""
        new = rest.split()
        old = previous.rstrip("?").split()
        if len(old) < 3 or old[0].lower() != new[0].lower():
            return None
        head = 2 if len(new) > 1 and new[1].lower() == old[1].lower() and old[0].lower() == "how" else 1
        if [w.lower() for w in new[:head]] != [w.lower() for w in old[:head]] or len(new) == head:
            return None
        for i in range(head, len(old)):
            if old[i].lower() in _AUX:
                if i == head:
                    return None
                return " ".join([old[0]] + new[1:] + old[i:]) + "?"
        return None

    def _pronouns(self, recent: list[Turn], question: str, about: About | None = None) -> str:
        tokens = re.findall(r"\w+|[^\w\s]+|\s+", question)
        lowered = [t.lower() for t in tokens]
        if not any(t in PERSON_PRONOUNS or t in THING_PRONOUNS for t in lowered):
            return question
        wanted = {PRONOUN_GENDER[t] for t in lowered if t in PRONOUN_GENDER}
        people = {g: self._antecedent(recent, person=True, gender=g, about=about) for g in (None, *wanted)}
        thing = self._antecedent(recent, person=False)
        out = []
        thing_group = None  # "they ... it": one antecedent is not both
        named: set[str] = set()  # the people this rewrite has put in
        words = [i for i, t in enumerate(tokens) if not t.isspace()]
        for pos, tok in enumerate(tokens):
            low = lowered[pos]
            role, name = None, None
            if low not in PERSON_PRONOUNS and low not in THING_PRONOUNS:
                out.append(tok)
                continue
            # A name earlier in the same question is what its pronouns point at ("did Russia say about its").
            before = mentions("".join(tokens[:pos]))
            if any(m.person for m in before) and low in PERSON_PRONOUNS or any(not m.person for m in before) and low in THING_PRONOUNS:
                out.append(tok)
                continue
            # A person of the pronoun's gender if one was named, else the latest person (a name may say nothing).
            person = people.get(PRONOUN_GENDER.get(low)) or people[None]
            if low in PERSON_PRONOUNS and person is not None:
                role, name = PERSON_PRONOUNS[low], article_form(person.text, about)
            elif low in THING_PRONOUNS and thing is not None:
                # "it" as a dummy subject ("is it true", "it is said") is left alone.
                nxt = next((tokens[j] for j in words if j > pos), "")
                group = low.startswith("it")
                if low == "it" and nxt.lower() in {"is", "was", "has"} and pos == words[0] or thing_group not in (None, group):
                    role = None
                else:
                    thing_group = group
                    role, name = THING_PRONOUNS[low], thing.text
            if role == "her":
                nxt = next((tokens[j] for j in words if j > pos), "")
                role = "obj" if not nxt or nxt.lower() in _NOT_NOUNS or not nxt[0].isalpha() else "poss"
            if role is None or low in PERSON_PRONOUNS and name in named:
                # A person this question already names by the rewrite keeps the pronoun the second time:
                # "What did he say about his sales?" -> "What did Tomas Berg say about his sales?".
                out.append(tok)
            else:
                out.append(_possessive(name) if role == "poss" else name)
                if low in PERSON_PRONOUNS:
                    named.add(name)
        return "".join(out)

    @staticmethod
    def _antecedent(recent: list[Turn], person: bool, gender: str | None = None,
                    about: About | None = None) -> Mention | None:
        """The latest name of the wanted kind: the answer first, then the question's names in order.

        With ``gender`` ("she"), a person whose first name says the other gender is passed over ("Who did Melanie
        Joly meet?" Denys Shmygal; "What did she discuss?" is Joly); names that say nothing are kept. The answer to
        a when/where/why/how question says when or where something happened, and is no antecedent ("Where does
        the money come from?" a regional fund; "Why did he oppose it?" is not about the fund)."""
        known = pronoun_gender(recent) if gender is not None else None
        for turn in reversed(recent):
            candidates = []
            answer = None if _ADVERBIAL_QUESTION.match(turn.question) else _answer_mention(turn)
            if answer is not None:
                candidates.append(answer)
            candidates.extend(m for m in mentions(turn.question) if not m.demonym)
            said = " ".join([turn.question, *turn.answers])
            for m in candidates:
                if m.person == person and (gender is None or mention_gender(m.text, said, about, known) in (None, gender)):
                    return m
        return None
