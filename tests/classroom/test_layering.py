"""The domain is the ground floor: none of its modules imports the worker, vision, page or project packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

DOMAIN_DIR = Path(settings.BASE_DIR) / "classroom"
# Every module of the domain, its management commands included; migrations are Django's history, not the domain.
DOMAIN = sorted(str(path.relative_to(DOMAIN_DIR)) for path in DOMAIN_DIR.glob("**/*.py") if "migrations" not in path.parts)
ABOVE = ("ingest", "inference", "frontend", "project")


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_domain_is_all_there() -> None:
    assert {"models.py", "services.py", "tasks.py", "management/commands/purge.py"} <= set(DOMAIN)


@pytest.mark.parametrize("module", DOMAIN)
def test_the_domain_imports_nothing_above_it(module: str) -> None:
    upward = sorted(name for name in imported(DOMAIN_DIR / module) if name.split(".")[0] in ABOVE)
    assert upward == [], f"classroom/{module} imports {upward}"


WRITES = {"save", "create", "update", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}


@pytest.mark.parametrize("worker", ["ingest/processing.py", "inference/processing.py"])
def test_the_worker_modules_write_no_rows_themselves(worker: str) -> None:
    tree = ast.parse((Path(settings.BASE_DIR) / worker).read_text())
    calls = sorted(
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES
    )
    assert calls == [], f"{worker} writes rows itself ({calls}); the domain's services do that"
