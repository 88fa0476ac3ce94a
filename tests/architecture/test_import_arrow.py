"""The arrow of dependencies (DESIGN.md): the layers contract in pyproject.toml, and no import inside a
function that reaches a higher layer (or an independent sibling) to dodge it.

`lint-imports` (run by `make test`) checks the contract on the import graph; these tests read the same
contract and check by name what a lazy import could hide: an ``import`` inside a function body, or
``importlib.import_module("kikan_hub....")`` with a literal name.
"""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kikan_hub"


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == "arrow")


def _layers() -> dict[str, tuple[int, bool]]:
    """top-level name under kikan_hub → (layer index, 0 = highest; independent siblings?)."""
    out: dict[str, tuple[int, bool]] = {}
    for i, layer in enumerate(_contract()["layers"]):
        if ":" in layer:
            names, independent = layer.split(":"), False
        else:
            names, independent = layer.split("|"), True
        for name in names:
            out[name.strip()] = (i, independent)
    return out


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "kikan_hub" else None


def _resolve(node: ast.ImportFrom, path: Path, root: Path) -> str:
    if not node.level:
        return node.module or ""
    package = list(path.relative_to(root).with_suffix("").parts)[:-1]   # a module's package, or __init__'s own
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _function_level_imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every import made inside a function body of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                found += [(node.lineno, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                found.append((node.lineno, _resolve(node, path, root)))
            elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)
                  and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                       or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
                found.append((node.lineno, node.args[0].value))
    return sorted(set(found))


def upward_imports(package: Path = PACKAGE) -> list[str]:
    layers, root = _layers(), package.parent
    bad: list[str] = []
    for path in sorted(package.rglob("*.py")):
        src = _top(".".join(path.relative_to(root).with_suffix("").parts))
        if src not in layers:
            continue
        for line, module in _function_level_imports(path, root):
            dst = _top(module)
            if dst is None or dst == src or dst not in layers:
                continue
            (si, sib), (di, _) = layers[src], layers[dst]
            if di < si or (di == si and sib):
                where = "a higher layer" if di < si else "an independent sibling"
                bad.append(f"{path.relative_to(root)}:{line}: {src} imports {module} ({where}) inside a function")
    return bad


def test_no_function_level_import_goes_up_the_arrow():
    assert upward_imports() == []


def test_every_package_of_kikan_hub_is_in_a_layer():
    # A new package outside the contract would be outside the arrow: lint-imports would not check it.
    layered = set(_layers())
    names = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert names - layered == set()


def test_the_scan_finds_a_lazy_upward_import(tmp_path):
    # The check itself can fail: a store helper importing pipeline/ inside a function is reported,
    # and so is importlib.import_module with a literal name; a downward lazy import is not.
    pkg = tmp_path / "kikan_hub"
    (pkg / "store").mkdir(parents=True)
    (pkg / "store" / "lazy.py").write_text(
        "import importlib\n"
        "def f():\n    from kikan_hub.pipeline.rehearsal import rehearse\n"
        "def g():\n    return importlib.import_module('kikan_hub.api.cli')\n"
        "def h():\n    from ..validation import engine\n"
        "def i():\n    from ..modules import juki\n",
        encoding="utf-8")
    found = upward_imports(pkg)
    assert [f.split(": ", 1)[1].split(" (")[0] for f in found] == [
        "store imports kikan_hub.pipeline.rehearsal",
        "store imports kikan_hub.api.cli",
        "store imports kikan_hub.modules",
    ]


def test_make_test_runs_lint_imports():
    # CI (.ci/run) and a fresh clone both run `make test`: the contract is checked there.
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_recipe = text.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "lint-imports" in test_recipe
