"""An evaluation as one self-contained HTML page with plots (matplotlib, images embedded): qa eval --report DIR."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import numpy as np

QUESTION_TYPES = (("how many", r"^how (many|much)\b"), ("who", r"^(who|whom|whose)\b"), ("when", r"^(when|what year|what date)\b"),
                  ("where", r"^where\b"), ("why", r"^why\b"), ("how", r"^how\b"), ("which", r"^which\b"),
                  ("what", r"^what\b"))


def question_type(question: str) -> str:
    q = question.strip().lower()
    for name, pattern in QUESTION_TYPES:
        if re.search(pattern, q):
            return name
    return "other"


def sweep(rows: list[dict], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 and answer rate at each threshold, from rows of a run that always answered (``score`` per row)."""
    f1s, rates = [], []
    for t in thresholds:
        answered = [r["score"] is not None and r["score"] >= t for r in rows]
        f1s.append(np.mean([r["f1"] if a else float(not r["has_answer"]) for r, a in zip(rows, answered)]) * 100)
        rates.append(np.mean(answered) * 100)
    return np.array(f1s), np.array(rates)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _calibration_plot(plt, predicted, observed, sizes, label: str, xlabel: str, title: str):
    """Observed right (F1 >= 0.5) against the score, with each point's question count, beside the diagonal."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot([0, 100], [0, 100], ls=":", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", label=label)
    for x, y, n in zip(predicted, observed, sizes):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("right (F1 ≥ 0.5), %")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig


def _plots(report: dict, always: list[dict] | None, operating_score: float | None) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"]
    out = {}
    # EM / F1 per question type.
    types = sorted({question_type(r["question"]) for r in rows})
    em = [np.mean([r["em"] for r in rows if question_type(r["question"]) == t]) * 100 for t in types]
    f1 = [np.mean([r["f1"] for r in rows if question_type(r["question"]) == t]) * 100 for t in types]
    counts = [sum(question_type(r["question"]) == t for r in rows) for t in types]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    x = np.arange(len(types))
    ax.bar(x - 0.2, em, 0.4, label="EM")
    ax.bar(x + 0.2, f1, 0.4, label="F1")
    ax.set_xticks(x, [f"{t}\n({n})" for t, n in zip(types, counts)])
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.legend()
    ax.set_title("EM / F1 by question type (questions)")
    out["types"] = _png(fig)
    # Answerable vs unanswerable.
    fig, ax = plt.subplots(figsize=(4.5, 3))
    parts = [("answerable\nF1", report["HasAns_f1"]), ("unanswerable\nrecognised", report["NoAns_exact"])]
    parts = [(k, v) for k, v in parts if v is not None]
    ax.bar([k for k, _ in parts], [v for _, v in parts], color=["#457b9d", "#e9c46a"][: len(parts)])
    ax.set_ylim(0, 100)
    ax.set_title(f"HasAns ({report['HasAns_total']}) vs NoAns ({report['NoAns_total']})")
    out["hasans"] = _png(fig)
    # Reliability: every question's best answer's score (answered or not) against how often it was right.
    risk = report.get("risk_coverage")
    if risk and risk.get("reliability"):
        bins = risk["reliability"]
        out["reliability"] = _png(_calibration_plot(
            plt, [b["predicted"] * 100 for b in bins], [b["observed"] * 100 for b in bins], [b["n"] for b in bins],
            f"this run (ECE {risk['ece']:.3f})", "score (%)", "Reliability (all questions)"))
    # Calibration: answer score vs how often the answer was right.
    scored = [r for r in (always or rows) if r["score"] is not None and r["has_answer"]]
    if scored:
        edges = np.linspace(0, 1, 6)
        centers, right, sizes = [], [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            inside = [r for r in scored if lo <= r["score"] < hi or (hi == 1 and r["score"] == 1)]
            if inside:
                centers.append((lo + hi) / 2)
                right.append(np.mean([r["f1"] >= 0.5 for r in inside]) * 100)
                sizes.append(len(inside))
        out["calibration"] = _png(_calibration_plot(plt, np.array(centers) * 100, right, sizes, "this run",
                                                    "answer score (%)", "Calibration (answerable questions)"))
    # Threshold sweep.
    if always:
        thresholds = np.linspace(0, 1, 41)
        f1s, rates = sweep(always, thresholds)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.plot(thresholds, f1s, label="F1")
        ax.plot(thresholds, rates, ls="--", label="answered (%)")
        if operating_score is not None:
            ax.axvline(operating_score, color="crimson", ls=":", label=f"operating point ({operating_score:.2f})")
        ax.set_xlabel("minimum answer score")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
        ax.set_title("No-answer threshold sweep")
        out["sweep"] = _png(fig)
    # Latency.
    if report.get("latencies_ms"):
        fig, ax = plt.subplots(figsize=(5, 3))
        lat = np.array(report["latencies_ms"])
        top = float(np.percentile(lat, 99)) * 1.2
        slow = int((lat > top).sum())
        ax.hist(np.minimum(lat, top), bins=30, range=(0, top), color="#2a9d8f")
        if slow:
            ax.annotate(f"{slow} slower (max {lat.max():.0f} ms) in the last bin", (0.98, 0.9), xycoords="axes fraction",
                        ha="right", fontsize=8)
        ax.axvline(report["latency_ms_p50"], color="black", ls=":", label=f"p50 {report['latency_ms_p50']} ms")
        ax.axvline(report["latency_ms_p95"], color="crimson", ls=":", label=f"p95 {report['latency_ms_p95']} ms")
        ax.set_xlabel("ms per question")
        ax.legend(fontsize=8)
        ax.set_title("Latency")
        out["latency"] = _png(fig)
    return out


def _context(row: dict, candidate: dict | None) -> str:
    if "context" in row:
        return f"<blockquote>{html.escape(row.get('title') or '')}: {_marked(row)}</blockquote>"
    if candidate is not None and "context" in candidate:
        # It abstained: show what it would have said, below the threshold.
        return (f"<div>best candidate, below the threshold: <code>{html.escape(candidate['prediction'])}</code>"
                f"{_score(candidate)}</div><blockquote>{html.escape(candidate.get('title') or '')}: "
                f"{_marked(candidate)}</blockquote>")
    return "<blockquote><em>no answer given</em></blockquote>"


def _score(row: dict) -> str:
    return "" if row["score"] is None else f" (score {row['score']:.2f})"


def _marked(row: dict) -> str:
    if "context" not in row:
        return "<em>no answer given</em>"
    c, s, e = row["context"], row["start"], row["end"]
    return f"{html.escape(c[:s])}<mark>{html.escape(c[s:e])}</mark>{html.escape(c[e:])}"


def write_report(out_dir: Path, report: dict, source: str, always: list[dict] | None = None,
                 operating_score: float | None = None, worst: int = 15) -> Path:
    """DIR/report.html; ``always`` are the rows of a run that never abstained (for calibration and the sweep)."""
    try:
        plots = _plots(report, always, operating_score)
    except ImportError as exc:
        raise RuntimeError("qa eval --report needs matplotlib: pip install '.[report]'") from exc
    rows = report["rows"]
    best = {r["id"]: r for r in always or []}
    misses = sorted((r for r in rows if r["f1"] < 1), key=lambda r: (r["f1"], -(r["score"] or 0)))[:worst]
    keys = ["exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_total",
            *[k for k in report if k.startswith("recall_at_")], "latency_ms_p50", "latency_ms_p95"]
    keys.insert(keys.index("latency_ms_p50"), "answered")
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{report[k]}</td></tr>" for k in keys if k in report)
    risk = report.get("risk_coverage") or {}
    table += "".join(f"<tr><th>{label}</th><td>{risk[k]}</td></tr>" for k, label in (
        ("accuracy_at_50", "right at 50% coverage (most confident half)"), ("accuracy_at_80", "right at 80% coverage"),
        ("accuracy_at_100", "right at 100% coverage"), ("ece", "expected calibration error")) if k in risk)
    images = "".join(f'<figure><img alt="{k}" src="{v}"></figure>' for k, v in plots.items())
    miss_html = "".join(
        f"<div class='miss'><div><b>{html.escape(str(r['id']))}</b> {html.escape(r['question'])}</div>"
        f"<div>predicted: <code>{html.escape(r['prediction'] or '(no answer)')}</code>"
        f"{_score(r)}"
        f" · gold: <code>{html.escape(' | '.join(r['gold']) or '(unanswerable)')}</code> · F1 {r['f1']:.2f}</div>"
        f"{_context(r, best.get(r['id']))}</div>" for r in misses)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>QA evaluation: {html.escape(source)}</title>
<style>body{{font:15px/1.45 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1d2330}}
table{{border-collapse:collapse}}th,td{{border:1px solid #dde1e7;padding:.25rem .6rem;text-align:left}}
figure{{display:inline-block;margin:.5rem}}img{{max-width:100%}}mark{{background:#ffe066}}
.miss{{border-top:1px solid #dde1e7;padding:.5rem 0}}blockquote{{margin:.3rem 0 0 1rem;color:#445;font-size:.9rem}}</style>
</head><body><h1>QA evaluation</h1><p>Gold set: <code>{html.escape(source)}</code> · {len(rows)} questions.
Scores are official SQuAD EM/F1 (max over gold answers); "unanswerable recognised" is the share of unanswerable questions
answered with no answer.</p><table>{table}</table><h2>Plots</h2>{images}
<h2>Worst misses</h2><p>Lowest F1 first, with the paragraph the answer was cited from (the span marked).</p>{miss_html}
</body></html>"""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
