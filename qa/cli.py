"""The ``qa`` command line: index, ask, serve, eval."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _settings():
    from pydantic import ValidationError

    from qa.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        raise SystemExit(f"error: invalid QA_* setting: {exc}")


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_index(args: argparse.Namespace) -> int:
    from qa.factory import make_embedder
    from qa.indexing import build_index
    from retriever import store

    settings = _settings()
    previous = None
    try:
        previous = store.load(settings.index_dir)
    except store.IndexMissing:
        pass
    except store.IndexCorrupt as exc:
        print(f"warning: {exc}; starting a new index", file=sys.stderr)
    base = [] if args.replace else (previous.manifest.sources if previous else [str(p) for p in settings.corpus])
    sources = list(dict.fromkeys(base + [str(Path(p).resolve()) for p in args.paths]))
    try:
        report = build_index(sources, make_embedder(settings), settings.index_dir, previous=previous)
    except ValueError as exc:
        return _fail(f"{exc}\nthe index at {settings.index_dir} was left as it was")
    for error in report.errors:
        print(f"error: skipped {error}", file=sys.stderr)
    print(f"{report.summary()} -> {settings.index_dir}")
    return 1 if report.errors else 0


def _load(build_if_missing: bool):
    from qa.factory import load_service
    from retriever.store import IndexError_

    settings = _settings()
    try:
        return load_service(settings, build_if_missing=build_if_missing)
    except (IndexError_, FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}")


def _marked(text: str, start: int, end: int) -> str:
    return f"{text[:start]}[[{text[start:end]}]]{text[end:]}"


def cmd_ask(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from api.schemas import AskRequest, error_message

    # The same rules as the HTTP API, so both reject the same input with the same words.
    try:
        request = AskRequest(question=args.question, top_k=args.top_k, max_answers=args.max_answers)
    except ValidationError as exc:
        return _fail(error_message(exc.errors()))
    service = _load(build_if_missing=False)
    result = service.pipeline.ask(request.question, top_k=request.top_k, max_answers=request.max_answers)
    if args.json:
        from dataclasses import asdict

        print(json.dumps({**asdict(result), "no_answer": result.no_answer}, indent=2, ensure_ascii=False))
        return 0
    if result.no_answer:
        print("No answer: nothing in the indexed articles supports one.")
        return 0
    passages = {sp.passage.id: sp.passage for sp in result.passages}
    for rank, a in enumerate(result.answers, start=1):
        c = a.citation
        print(f"{rank}. {a.text}   (score {a.score:.2f})")
        print(f"   source: {c.title} [doc {c.doc_id}, paragraph {c.paragraph}, chars {c.start}-{c.end}]")
        if rank == 1 or args.verbose:
            print(f"   {_marked(passages[a.passage_id].text, c.start, c.end)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = _settings()
    # Build (or refresh) the index and load the models before the server starts, so it is ready at once.
    service = _load(build_if_missing=True)
    uvicorn.run(create_app(settings, loader=lambda _settings: service), host=args.host or settings.host, port=args.port or settings.port,
                log_level="info")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evaluate import GoldFormatError, evaluate, load_gold

    try:
        gold = load_gold(Path(args.gold))
    except (OSError, GoldFormatError) as exc:
        return _fail(str(exc))
    service = _load(build_if_missing=False)
    report = evaluate(service.pipeline, gold)
    figures = {k: v for k, v in report.items() if k != "rows"}
    if args.verbose:
        for r in report["rows"]:
            mark = "ok " if r["em"] else ("~  " if r["f1"] > 0 else "-- ")
            print(f"{mark}{r['id']}: {r['question']}\n     predicted: {r['prediction']!r}   gold: {r['gold']}")
    print(f"questions        {figures['n']} ({figures['HasAns_n']} answerable, {figures['NoAns_n']} unanswerable)")
    print(f"exact match      {figures['exact_match']}")
    print(f"F1               {figures['f1']}")
    print(f"HasAns EM / F1   {figures['HasAns_exact_match']} / {figures['HasAns_f1']}")
    print(f"NoAns accuracy   {figures['NoAns_accuracy']}")
    print(f"recall@1 / @5    {figures['recall_at_1']} / {figures['recall_at_5']}")
    print(f"latency p50/p95  {figures['latency_ms_p50']} / {figures['latency_ms_p95']} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Extractive QA over news articles with cited span answers.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="add articles (.txt, .md, .jsonl files or folders) to the index, or rebuild it")
    p.add_argument("paths", nargs="*", help="files or folders to add; none rebuilds from the current sources")
    p.add_argument("--replace", action="store_true", help="index only PATHS, dropping earlier sources")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question from the indexed articles")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (1-50; default QA_TOP_K)")
    p.add_argument("--max-answers", type=int, default=None, help="1-10; default QA_MAX_ANSWERS")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cited paragraph of every answer")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="build the index if missing or stale, then serve the HTTP API")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="score the pipeline on gold QA pairs (JSONL)")
    p.add_argument("gold")
    p.add_argument("--json", metavar="PATH", help="also write the figures and per-question rows as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="print every question with its prediction")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
