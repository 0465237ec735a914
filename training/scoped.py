"""The operating point for questions asked within named documents (a chat about one story), chosen on CoQA's tune half.

    python -m training.scoped [--runs runs/coqa] [--write reader/models/minilm-newsqa]

A reader chatting about the article in front of them asks about that article: the open operating point, chosen for
questions asked of a whole archive (where abstaining on what the archive does not cover matters), throws away most
of the right answers there (CoQA tune conversations scoped to their story: 44% answered). Each CoQA conversation of
the TUNE half (``training.splits.coqa_split``) is asked turn by turn within its own story and, as the questions that
must be abstained on, within another tune story; every answer is kept with its score (the reader never abstaining).

The rule, fixed before any figure of it was computed: the smallest score at which at least ``MIN_OFF_STORY_ABSTAINED``
of the questions asked within another story are abstained on (the seed article's NoAns target), which is the point
costing the in-story questions least under that bound. Written as ``calibration.json``'s ``scoped`` section; the
reader applies it to questions scoped to documents (``Scope.doc_ids``), the margin deciding.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.atomic import write_atomic

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "conversations"
MIN_OFF_STORY_ABSTAINED = 0.80


def asked(runs: Path) -> tuple[list[dict], list[dict]]:
    """The tune conversations' turns within their own story and within another one, answered at any score."""
    from chat.evaluate import evaluate_conversations, load_conversations, within_other_stories
    from service.application import Application
    from service.settings import Settings
    from training.splits import coqa_split

    conversations = [c for c in load_conversations(DATA / "coqa-cnn-val-conversations.jsonl")
                     if coqa_split(c.doc_id) == "tune"]
    settings = Settings().with_(index={"index_dir": runs / "index", "corpus": [DATA / "coqa-cnn-val-stories.jsonl"]},
                                reader={"min_answer_score": 0.0})
    service = Application.load(settings, build_if_missing=True)
    own = evaluate_conversations(service.conversations(), conversations, scoped=True)["rows"]
    elsewhere = evaluate_conversations(service.conversations(), within_other_stories(conversations), scoped=True)["rows"]
    return own, elsewhere


def choose(own: list[dict], elsewhere: list[dict]) -> dict:
    score = np.array([r["score"] if r["score"] is not None else -1.0 for r in own])
    f1 = np.array([r["f1"] for r in own])
    off = np.array([r["score"] if r["score"] is not None else -1.0 for r in elsewhere])
    # Scores are served to 4 decimals and answered at >= the point: a cut just above an off-story score is that
    # score plus one in the last place.
    cuts = np.unique(np.concatenate([[0.0], np.round(off[off >= 0] + 1e-4, 4)]))
    ok = [t for t in cuts if (off < t).mean() >= MIN_OFF_STORY_ABSTAINED]
    point = float(min(ok)) if ok else 1.0

    def figures(t: float) -> dict:
        answered = score >= t
        first = np.array([r["turn"] == 1 for r in own])
        return {"min_score": round(t, 4), "in_story_f1": round(float(np.where(answered, f1, 0).mean()) * 100, 2),
                "first_turns_f1": round(float(np.where(answered, f1, 0)[first].mean()) * 100, 2),
                "follow_ups_f1": round(float(np.where(answered, f1, 0)[~first].mean()) * 100, 2),
                "answered": round(float(answered.mean()) * 100, 1),
                "other_story_abstained": round(float((off < t).mean()) * 100, 1)}

    return {"chosen": figures(point), "never_abstaining": figures(0.0), "turns": len(own)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/coqa"), help="where the CoQA stories' index lives")
    parser.add_argument("--write", type=Path, default=None, help="model directory whose calibration.json gets 'scoped'")
    args = parser.parse_args(argv)
    result = choose(*asked(args.runs))
    if args.write is not None:
        path = args.write / "calibration.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data["scoped"] = {"min_score": result["chosen"]["min_score"],
                          "tuned_on": "CoQA tune conversations (training/splits.py coqa_split) within their story, and "
                                      "within another tune story as questions to abstain on (training/scoped.py)",
                          "rule": f"the smallest score abstaining on at least {MIN_OFF_STORY_ABSTAINED:.0%} of the "
                                  "questions asked within another story",
                          "tune": result["chosen"]}
        write_atomic(path, json.dumps(data, indent=2) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
