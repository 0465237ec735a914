"""The core of qa/ imports nothing above it: readers, retrievers, chat and the API plug in from outside."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = {"types", "text", "limits", "metrics", "protocols", "pipeline", "serialize", "offline"}
PROJECT = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_core_modules_import_only_the_core():
    assert {"qa", "reader", "retriever", "api", "chat"} <= PROJECT
    for name in sorted(CORE):
        for module in _imports(ROOT / "qa" / f"{name}.py"):
            top, _, rest = module.partition(".")
            if top in PROJECT:
                assert top == "qa" and rest in CORE, f"qa/{name}.py imports {module}, above the core"
