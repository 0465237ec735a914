"""Reader-only, never abstaining F1 of candidate readers on the tune splits (the rule of a news fine-tune).

    python -m training.reader_check reader/models/minilm-newsqa runs/newsqa-ft/candidate

For each model directory (int8 ONNX, as served): the NewsQA tune-check articles' F1 and the SQuAD 2.0 TUNE
articles' answerable questions' F1, each question's best-margin span taken (no abstention).
"""

from __future__ import annotations

import argparse
import json

from qa.metrics import score_prediction
from reader.onnx_reader import OnnxReader
from training.news_runs import questions_of
from training.splits import newsqa_tune_part


def never_abstaining_f1(reader, questions) -> float:
    total = 0.0
    for q in questions:
        cands = reader.candidates_batch([q.question], [[q.context]])[0]
        best = q.context[cands[0].start_char : cands[0].end_char] if cands else ""
        total += score_prediction(best, list(q.answers))[1]
    return round(total / max(len(questions), 1) * 100, 2)


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
