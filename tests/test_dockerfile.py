"""The Dockerfile copies every package the project installs, serves without PyTorch, runs unprivileged, has a health check."""

import re
import tomllib

from tests.conftest import ROOT


def test_dockerfile_matches_the_packages_and_is_safe_by_default():
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = set(re.findall(r"^COPY (\w+) \1$", docker, re.M))
    assert {p.rstrip("*") for p in packages} <= copied
    users = re.findall(r"^USER (\S+)$", docker, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*readyz", docker, re.M)
    assert "QA_API_KEYS" in docker
    # Serving runs on ONNX Runtime: the plain install, without the 'torch' extra or any other.
    assert re.search(r"^RUN pip install \. ", docker, re.M) and not re.search(r"pip install[^\n]*(torch|\[)", docker)
