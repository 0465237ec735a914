"""Which articles of the shared SQuAD dev files are spent, tuned on, or reported on."""

# Trained on by the starting checkpoint (minilm-squad-pilot PROVENANCE.md): never reported on,
# in dev-v2.0-public nor (same questions) in dev-v1.1-public.
PILOT_TRAINED = ("1973_oil_crisis", "Black_Death", "Construction", "Ctenophora", "European_Union_law", "Force",
                 "Geology", "Harvard_University", "Huguenot", "Immune_system", "Islamism", "Jacksonville,_Florida")
# dev-v2.0-public articles that the threshold, the score calibration and the quantization are tuned on.
TUNE = ("Prime_number", "Private_school", "Sky_(United_Kingdom)")
# dev-v2.0-public articles reported on: nothing trained or tuned on them.
REPORT = ("Steam_engine", "Victoria_(Australia)", "Yuan_dynasty")
# dev-v1.1-public articles reported on: all but the spent and the tuned ones.
SQUAD1_EXCLUDED = PILOT_TRAINED + TUNE


# The public NewsQA half (shared/data/news/newsqa-dev-public.json.gz) is split by article, never by question:
# an article is TUNE when the first byte of the SHA-256 of its title (the first 50 characters of the story) is
# even, else REPORT. Fixed before any figure of either half was computed; the selector and every operating point
# are fitted on the tune half only, and figures are reported on the report half.
NEWSQA_SPLIT_RULE = "sha256(title)[0] % 2 == 0 -> tune, else report"


def _digest_byte(key: str, index: int) -> int:
    """Byte ``index`` of the SHA-256 of ``key``: a split that no ordering or sampling of the files can move."""
    import hashlib

    return hashlib.sha256(key.encode("utf-8")).digest()[index]


def newsqa_split(title: str) -> str:
    """"tune" or "report": which half of the public NewsQA articles this one is in."""
    return "tune" if _digest_byte(title, 0) % 2 == 0 else "report"


# Within the NewsQA tune half, the articles a short reader fine-tune may train on ("tune-train": the second byte
# of the same SHA-256 not 2 modulo 3, about two thirds) and those that decide whether it ships and that the answer
# selector is fitted on ("tune-check"). Fixed before the fine-tune ran.
def newsqa_tune_part(title: str) -> str:
    """"tune-train" or "tune-check" for an article of the tune half."""
    return "tune-check" if _digest_byte(title, 1) % 3 == 2 else "tune-train"


# The CoQA conversations over CNN stories (shared/data/conversations) split by story, as the NewsQA articles are:
# a story (its doc_id) is TUNE when the first byte of the SHA-256 of its doc_id is even, else REPORT.
def coqa_split(doc_id: str) -> str:
    """"tune" or "report": which half of the CoQA stories this one is in."""
    return "tune" if _digest_byte(doc_id, 0) % 2 == 0 else "report"
