"""README.md's openai client example, run verbatim against a live server (only the port differs)."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_openai_example_runs(live_server):
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
                 if "from openai import OpenAI" in b)
    assert 'base_url="http://127.0.0.1:8000/v1"' in block
    code = block.replace("http://127.0.0.1:8000", live_server)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert "[1]" in lines[0] and "'doc_id'" in out.getvalue() and "Sources:" in out.getvalue()
