"""No module imports a conftest: conftest files only define fixtures, and what tests and benches
share lives in tests/support (plain modules). A conftest imported as a module is loaded twice
under two names, and its fixtures leak into wherever it was imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "var", "node_modules", ".git", "test-artifacts"}


def conftest_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import of a conftest module in `tree`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if "conftest" in a.name.split(".")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if "conftest" in module.split("."):
                found.append((node.lineno, "." * node.level + module))
            elif any(alias.name == "conftest" for alias in node.names):
                found.append((node.lineno, f"{'.' * node.level}{module} import conftest"))
    return found


def python_files() -> list[Path]:
    return [
        path for path in ROOT.rglob("*.py") if not SKIP.intersection(path.relative_to(ROOT).parts)
    ]


def test_the_scan_sees_every_form_of_a_conftest_import():
    source = (
        "import conftest\n"
        "import tests.e2e.conftest as c\n"
        "from conftest import service_unavailable\n"
        "from .conftest import load_fixture\n"
        "from tests.reliability.conftest import stack\n"
        "from tests.e2e import conftest\n"
        "def f():\n"
        "    from orders.tests.conftest import signed\n"
        "from tests.support.harness import wait_until\n"
    )
    assert [line for line, _ in conftest_imports(ast.parse(source))] == [1, 2, 3, 4, 5, 6, 8]


def test_no_module_imports_a_conftest():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files()
        for line, module in conftest_imports(ast.parse(path.read_bytes(), str(path)))
    ]
    assert offenders == [], "move what is shared to tests/support:\n" + "\n".join(offenders)
