"""No code in kikan_hub (every .py, parsed: comments do not count) replaces or drops undecodable/unencodable data, and gaiji stays self-contained."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "kikan_hub"


def _calls_with_lossy_errors(tree: ast.AST) -> list[int]:
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        for kw in node.keywords:
            if kw.arg and kw.arg.endswith("errors") and isinstance(kw.value, ast.Constant) and kw.value.value in ("replace", "ignore"):
                bad.append(node.lineno)
        if name in ("decode", "encode", "open", "TextIOWrapper") and len(node.args) >= 2:
            a = node.args[1] if name in ("decode", "encode") else None
            if isinstance(a, ast.Constant) and a.value in ("replace", "ignore"):
                bad.append(node.lineno)
    return bad


def test_no_errors_replace_or_ignore_anywhere():
    offenders = []
    for py in PKG.rglob("*.py"):
        src = py.read_text(encoding="utf-8")
        offenders += [f"{py.relative_to(PKG)}:{n}" for n in _calls_with_lossy_errors(ast.parse(src))]
    assert offenders == []


def test_the_scan_can_fail():
    assert _calls_with_lossy_errors(ast.parse("b.decode('cp932', errors='replace')"))
    assert _calls_with_lossy_errors(ast.parse("b.decode('cp932', 'ignore')"))
    assert _calls_with_lossy_errors(ast.parse("open(p, encoding='cp932', errors='ignore')"))
    assert _calls_with_lossy_errors(ast.parse("csv.read_csv(p, decode_errors='replace')"))
    assert not _calls_with_lossy_errors(ast.parse("s.encode('cp932')  # never errors='replace'"))


def test_gaiji_imports_nothing_else_from_the_hub():
    for py in (PKG / "gaiji").rglob("*.py"):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("kikan_hub") or node.module.startswith("kikan_hub.gaiji"), py
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("kikan_hub") and not a.name.startswith("kikan_hub.gaiji")
                               for a in node.names), py
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                raise AssertionError(f"{py}: relative import leaves the gaiji package")
