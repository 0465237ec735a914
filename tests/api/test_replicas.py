"""Two replicas over one index directory (one writer, many readers): a document written through one is
answered by the other, and a full rebuild made elsewhere is picked up without a restart."""

import shutil
import time

import httpx
import pytest

from api.app import create_app
from service.application import Application
from service.indexing import build_index
from tests.conftest import ROOT, serving

pytestmark = pytest.mark.slow
QUESTION = {"question": "Who designed the lighthouse in Port Ellery?"}


def _answer(url: str, deadline_s: float = 10.0) -> str | None:
    """The top answer once one comes (replicas look for others' writes every half second)."""
    end = time.time() + deadline_s
    while time.time() < end:
        answers = httpx.post(f"{url}/v1/ask", json=QUESTION, timeout=30).json()["answers"]
        if answers and ("Okafor" in answers[0]["text"] or "Bodin" in answers[0]["text"]):
            return answers[0]["text"]
        time.sleep(0.3)
    return None


def test_a_write_through_one_replica_is_answered_by_the_other(real_service, tmp_path):
    shutil.copytree(real_service.settings.index.index_dir, tmp_path / "index")
    settings = real_service.settings.with_(index={"index_dir": tmp_path / "index"})
    one, two = (Application.load(settings, log=lambda m: None) for _ in range(2))
    with serving(create_app(settings, loader=lambda _s: one)) as a, serving(create_app(settings, loader=lambda _s: two)) as b:
        assert _answer(b, deadline_s=0.1) is None
        article = {"id": "harbour-1", "title": "Harbour news",
                   "text": "The new lighthouse in Port Ellery was designed by architect Mira Okafor."}
        assert httpx.post(f"{a}/v1/documents", json=article, timeout=60).status_code == 201
        assert "Okafor" in (_answer(b) or "")
        assert httpx.delete(f"{a}/v1/documents/harbour-1", timeout=60).status_code == 204
        assert httpx.get(f"{b}/v1/documents/harbour-1", timeout=30).status_code == 404

        # A full rebuild by another process (qa index --replace): both replicas serve the new version.
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "bridge.txt").write_text("The lighthouse in Port Ellery was designed by engineer Lars Bodin.\n")
        build_index([ROOT / "corpus" / "default", extra], one.embedder, tmp_path / "index", previous=one.index)
        assert "Bodin" in (_answer(a) or "") and "Bodin" in (_answer(b) or "")
