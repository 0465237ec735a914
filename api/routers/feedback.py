"""POST /v1/feedback: thumbs up/down on an answer, appended to the feedback file that qa eval reads as gold."""

from __future__ import annotations

import json
import threading
import time

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import FeedbackKey, SettingsDep
from api.middleware import request_id
from api.schemas.errors import error_responses
from qa.atomic import append_durable
from api.schemas.feedback import FeedbackIn, FeedbackOut

router = APIRouter(prefix="/v1", tags=["feedback"])
_lock = threading.Lock()


def _append(path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        append_durable(path, json.dumps(record, ensure_ascii=False) + "\n")


@router.post("/feedback", status_code=201, response_model=FeedbackOut,
             responses=error_responses(400, 401, 413, 422, 429))
async def feedback(body: FeedbackIn, settings: SettingsDep, _key: FeedbackKey) -> FeedbackOut:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "request_id": request_id.get(),
              **body.model_dump()}
    await run_in_threadpool(_append, settings.index.feedback_path, record)
    usable = body.verdict == "up" or body.unanswerable or bool(body.correct_answer and body.correct_answer.strip())
    return FeedbackOut(stored=True, usable_as_gold=usable)
