"""schemathesis with every check over every operation of a live server (bounded number of cases)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from service.application import Application
from service.settings import Settings
from tests.conftest import ROOT, serving

pytestmark = pytest.mark.slow


def test_schemathesis_all_checks_pass(real_service, tmp_path):
    # Its own index and documents: the run adds, replaces and deletes documents.
    shutil.copytree(real_service.settings.index.index_dir, tmp_path / "index")
    settings = Settings().with_(index={"index_dir": tmp_path / "index"}, server={"rate_limit_per_minute": 0})
    service = Application.load(settings, log=lambda m: None)
    cli = Path(sys.executable).with_name("schemathesis")
    with serving(create_app(settings, loader=lambda _s: service)) as url:
        r = subprocess.run([str(cli), "--config-file", str(ROOT / "schemathesis.toml"), "run", f"{url}/openapi.json",
                            "--checks", "all", "--max-examples", "150", "--seed", "1", "--workers", "1"],
                           capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    tail = r.stdout[-6000:]
    assert r.returncode == 0, tail
    assert "No issues found" in tail
