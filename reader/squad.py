"""SQuAD v1.1 / v2.0 JSON (plain or gzipped) as flat examples, for training and evaluation alike."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SquadExample:
    id: str
    title: str
    context: str
    question: str
    answers: tuple[tuple[str, int], ...]  # (text, answer_start); empty when unanswerable
    paragraph: int  # index of the paragraph within its article

    @property
    def is_impossible(self) -> bool:
        return not self.answers

    @property
    def span(self) -> tuple[int, int] | None:
        """Character span of the first gold answer (the training label), or None."""
        if not self.answers:
            return None
        text, start = self.answers[0]
        return start, start + len(text)


class SquadFormatError(ValueError):
    pass


def read_squad_json(path: Path) -> dict:
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SquadFormatError(f"{path}: not readable SQuAD JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SquadFormatError(f"{path}: expected {{\"version\", \"data\": [articles]}}")
    return data


def is_squad_file(path: Path) -> bool:
    name = Path(path).name.lower()
    return name.endswith(".json") or name.endswith(".json.gz")


def load_squad(path: Path, exclude_titles: set[str] | None = None) -> list[SquadExample]:
    """Every question of the file, except those of the named articles."""
    examples = []
    try:
        for article in read_squad_json(path)["data"]:
            title = article["title"]
            if exclude_titles and title in exclude_titles:
                continue
            for p_index, paragraph in enumerate(article["paragraphs"]):
                context = paragraph["context"]
                for qa in paragraph["qas"]:
                    answers = () if qa.get("is_impossible") else tuple(
                        (a["text"], int(a["answer_start"])) for a in qa.get("answers", [])
                    )
                    examples.append(SquadExample(str(qa["id"]), title, context, qa["question"], answers, p_index))
    except (KeyError, TypeError, ValueError) as exc:
        raise SquadFormatError(f"{path}: malformed SQuAD record ({exc!r})") from exc
    return examples
