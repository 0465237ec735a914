"""The house's layers: no module imports a layer above its own, and no two top-level packages import each other.

Bottom to top: the core (qa), the stages (corpus, retriever, reader), evaluation and chat, the application
(service) with training beside it, the channels (api, slackbot, cli), then the benchmarks. Every import
statement counts, also those inside functions (lazy imports run too).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "qa": 0,
    "corpus": 1, "retriever": 1, "reader": 1,
    "evaluation": 2, "chat": 2,
    "service": 3, "training": 3,
    "api": 4, "slackbot": 4, "cli": 4,
    "bench": 5,
}
# Serving code never imports the training package (it sits beside the application, out of the serving path).
SERVING = {"qa", "corpus", "retriever", "reader", "evaluation", "chat", "service", "api", "slackbot"}


def project_imports(path: Path) -> set[str]:
    """Top-level project packages that ``path`` imports (absolute imports only; relative ones stay inside)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found |= {n.split(".")[0] for n in names if n.split(".")[0] in LAYERS}
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def upward_imports(root: Path = ROOT) -> list[str]:
    bad = []
    for package, level in LAYERS.items():
        for path in sorted((root / package).rglob("*.py")):
            for target in project_imports(path):
                if LAYERS[target] > level or (package in SERVING and target == "training"):
                    bad.append(f"{path.relative_to(root)} imports {target} (layer {LAYERS[target]} above {level})")
    return bad


def package_cycles(root: Path = ROOT) -> list[str]:
    edges = {p: set() for p in LAYERS}
    for package in LAYERS:
        for path in (root / package).rglob("*.py"):
            edges[package] |= project_imports(path) - {package}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges[start])

    return sorted(f"{a} -> {b}" for a in edges for b in edges[a] if reaches(b, a, {b}))


def test_every_top_level_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} - {"tests"}
    assert packages == set(LAYERS), f"give each package a layer: {packages ^ set(LAYERS)}"


def test_no_module_imports_upward():
    assert upward_imports() == []


def test_no_cycles_between_top_level_packages():
    assert package_cycles() == []


def test_the_check_catches_an_upward_import(tmp_path):
    """The guard itself: a reader that imports the API, or a core module that imports a stage, is caught."""
    for package in LAYERS:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text('"""x"""\n')
    (tmp_path / "reader" / "bad.py").write_text("def f():\n    from api.app import create_app\n")
    (tmp_path / "qa" / "bad.py").write_text("import retriever.store\n")
    (tmp_path / "api" / "ok.py").write_text("from service.application import Application\n")
    (tmp_path / "service" / "ok.py").write_text("import reader\n")
    assert sorted(upward_imports(tmp_path)) == ["qa/bad.py imports retriever (layer 1 above 0)",
                                                "reader/bad.py imports api (layer 4 above 1)"]
    assert package_cycles(tmp_path) == ["api -> service", "reader -> api", "service -> reader"]


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_every_module_opens_with_a_docstring(package):
    for path in modules(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"
