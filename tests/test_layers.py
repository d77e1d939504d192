"""Imports point down the layers only. This table is the one statement of the architecture
(CONTRIBUTING.md explains it): a module may import its own layer and the layers below it, never
one above, and the foundation imports nothing else from citeline. Every import counts, including
those inside functions and under ``if TYPE_CHECKING``, because a lazy upward import is still a
dependency on a layer that may not be there (and a cycle waiting for the right import order)."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Module prefix -> layer; the longest matching prefix decides.
LAYERS = {
    # 0 foundation: data model, citations, sentences, claims, stage protocols, checks, paths
    "citeline.core": 0,
    # 1 stages: each does one job behind a protocol of the foundation
    "citeline.prompts": 1,
    "citeline.llm": 1,
    "citeline.retrievers": 1,
    "citeline.verifiers": 1,
    # 2 workflows: check, cite, revise, batch runs, built from stages
    "citeline.pipeline": 2,
    # 3 applications: the command line, evaluations, training, benchmarks
    "citeline.pipeline.cli": 3,
    "citeline.evals": 3,
    "citeline.verifiers.training": 3,
    "benchmarks": 3,
    # the package's top level: the one-liner `citeline.check`, over the workflows (matched exactly)
    "citeline": 3,
}
LAYER_NAMES = ("foundation", "stages", "workflows", "applications")

# Folder -> import name of the package it holds (pyproject.toml's package-dir).
FOLDERS = {"citeline": "citeline", "core": "citeline.core", "prompts": "citeline.prompts", "llm": "citeline.llm",
           "retrievers": "citeline.retrievers", "verifiers": "citeline.verifiers",
           "pipeline": "citeline.pipeline", "evals": "citeline.evals", "benchmarks": "benchmarks"}

# Known upward imports, each with the change that removes it. Keep this empty.
PENDING: set[tuple[str, str]] = set()


def layer_of(module: str) -> int | None:
    matches = [prefix for prefix in LAYERS
               if module == prefix or (module.startswith(prefix + ".") and prefix != "citeline")]
    return LAYERS[max(matches, key=len)] if matches else None


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


def imported(module: str, path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level if path.name != "__init__.py" else len(module.split("."))]
                names.add(".".join([*base, node.module or ""]).rstrip("."))
            else:
                names.add(node.module)
    return {name for name in names if name and name.startswith("citeline")}


def upward_imports(found_modules: dict[str, Path] | None = None) -> list[str]:
    found = []
    for module, path in (modules() if found_modules is None else found_modules).items():
        own = layer_of(module)
        for target in sorted(imported(module, path)):
            theirs = layer_of(target)
            if theirs is None:
                found.append(f"{module} imports {target}, which is in no layer: add it to LAYERS")
            elif theirs > own and (module, target) not in PENDING:
                found.append(f"{module} ({LAYER_NAMES[own]}) imports {target} ({LAYER_NAMES[theirs]})")
            elif own == 0 and not target.startswith("citeline.core"):
                found.append(f"{module} (foundation) imports {target}: the foundation imports only itself")
    return found


def test_every_package_folder_is_in_the_table():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(FOLDERS), f"add {sorted(packages - set(FOLDERS))} to FOLDERS and LAYERS"


def test_imports_only_point_down():
    assert upward_imports() == []


def test_the_check_sees_lazy_and_type_only_upward_imports(tmp_path):
    """The old code hid its cycles in function bodies and under TYPE_CHECKING: both must fail."""
    lazy, typed = tmp_path / "lazy.py", tmp_path / "typed.py"
    lazy.write_text("def f():\n    from citeline.verifiers.default import load_verifier\n")
    typed.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from citeline.pipeline.check import X\n")
    assert upward_imports({"citeline.core.lazy": lazy, "citeline.verifiers.typed": typed}) == [
        "citeline.core.lazy (foundation) imports citeline.verifiers.default (stages)",
        "citeline.verifiers.typed (stages) imports citeline.pipeline.check (workflows)"]


def test_pending_exceptions_still_exist():
    """An exception whose import is gone must leave the table, so the table cannot go stale."""
    current = {(m, t) for m, p in modules().items() for t in imported(m, p)}
    assert PENDING <= current, f"remove from PENDING: {sorted(PENDING - current)}"
