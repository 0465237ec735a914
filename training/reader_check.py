"""Reader-only, never abstaining F1 of candidate readers on the tune splits (the rule of a news fine-tune).

    python -m training.reader_check reader/models/minilm-newsqa runs/newsqa-ft/candidate

For each model directory (int8 ONNX, as served): the NewsQA tune-check articles' F1 and the SQuAD 2.0 TUNE
articles' answerable questions' F1, each question's best-margin span taken (no abstention).
"""

from __future__ import annotations

import argparse
import json

from qa.metrics import GoldItem
from reader.onnx_reader import OnnxReader
from training.calibrate import best_spans
from training.news_runs import questions_of
from training.splits import newsqa_tune_part


def never_abstaining_f1(reader, questions) -> float:
    """Mean F1 of each question's best-margin span (``training.calibrate.best_spans``, as ``training.ship`` reads)."""
    gold = [GoldItem(q.id, q.question, list(q.answers), context=q.context, title=q.title) for q in questions]
    return round(float(best_spans(reader, gold).f1.mean()) * 100, 2) if gold else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    args = parser.parse_args(argv)
    news = [q for q in questions_of("newsqa", "tune") if newsqa_tune_part(q.title) == "tune-check"]
    squad = [q for q in questions_of("squad", "tune") if q.answers]
    for model in args.models:
        reader = OnnxReader(model, setting="gold", use_selector=False)
        print(json.dumps({"model": model, "newsqa_tune_check_f1": never_abstaining_f1(reader, news),
                          "newsqa_questions": len(news), "squad_tune_f1": never_abstaining_f1(reader, squad),
                          "squad_questions": len(squad)}), flush=True)


if __name__ == "__main__":
    main()
