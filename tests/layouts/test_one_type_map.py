"""Issue 12, done-when: `grep` finds one type map. kikan_hub/layouts/types.py is the only place that says
which Arrow / polars / SQL / Python / XSD type a physical column type (text, integer, decimal, date, flag)
has; this test reads every other module of the package and fails on a second copy, in either form the
copies took before issue 12:

- a dict literal keyed by physical type names whose values are types
  (``{"text": pl.Utf8, "integer": pl.Int64, …}``, ``{"decimal": lambda c: Numeric(18, …)}``, ``{"flag": bool}``);
- a function that branches on ``….type == "<physical type>"`` for two or more of them and builds a type
  (``if col.type == "integer": return pa.int64()`` …, ``"xs:long"``).

A legacy layout's field types (zoned, packed …) are the reader's business, not this map: they do not match.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kikan_hub"
HOME = PACKAGE / "layouts" / "types.py"
PHYSICAL = {"text", "integer", "decimal", "date", "flag"}
# The type constructors of the libraries the hub types its columns with.
LIB_TYPES = {
    "pa": {"string", "large_string", "utf8", "int64", "int32", "decimal128", "date32", "bool_", "float64"},
    "pl": {"Utf8", "String", "Int64", "Int32", "Decimal", "Float64", "Date", "Boolean"},
    "sa": {"Text", "String", "BigInteger", "Integer", "Numeric", "Date", "Boolean", "Float"},
}
LIB_TYPES["pyarrow"], LIB_TYPES["polars"], LIB_TYPES["sqlalchemy"] = LIB_TYPES["pa"], LIB_TYPES["pl"], LIB_TYPES["sa"]
SQL_CLASSES = LIB_TYPES["sa"] - {"Date", "String", "Float", "Integer"}   # imported bare: Numeric(18, 2) …
PY_TYPES = {"str", "int", "float", "bool", "Decimal"}   # as dict values (``{"text": str}``), not calls


def _is_type_expr(node: ast.AST, in_dict: bool = False) -> bool:
    """A type object, a constructor of one, or an XSD built-in type name (a call like str(v) is a value)."""
    if isinstance(node, ast.Lambda):
        return _is_type_expr(node.body, in_dict)
    if isinstance(node, ast.Call):
        f = node.func
        return _is_type_expr(f) or (isinstance(f, ast.Name) and f.id in SQL_CLASSES)
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.attr in LIB_TYPES.get(node.value.id, ())
    if isinstance(node, ast.Name):
        return in_dict and node.id in PY_TYPES | SQL_CLASSES
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("xs:")
    return False


def _physical_literals(node: ast.AST) -> set[str]:
    """Physical type names a comparison ``x.type == "…"`` / ``x.type in (…)`` tests for."""
    if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "type"):
        return set()
    found = set()
    for comp in node.comparators:
        values = [c.value for c in ([comp] if isinstance(comp, ast.Constant) else getattr(comp, "elts", []))
                  if isinstance(c, ast.Constant)]
        if values and set(values) <= PHYSICAL:   # ("text", "kana", "dbcs"): a legacy field's or an item's type
            found.update(values)
    return found


def type_map_copies(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(PACKAGE.parent) if path.is_relative_to(PACKAGE.parent) else path.name
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)} & PHYSICAL
            if len(keys) >= 2 and any(_is_type_expr(v, in_dict=True) for v in node.values):
                out.append(f"{where}:{node.lineno}: a dict mapping {sorted(keys)} to types")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            tested = set().union(*(_physical_literals(n) for n in ast.walk(node)))
            builds = [n for n in ast.walk(node) if _is_type_expr(n)]
            if len(tested) >= 2 and builds:
                out.append(f"{where}:{node.lineno}: {node.name}() branches on "
                           f"{sorted(tested)} and builds types (line {builds[0].lineno})")
    return out


def test_one_type_map_in_the_package():
    copies = [c for p in sorted(PACKAGE.rglob("*.py")) if p != HOME for c in type_map_copies(p)]
    assert not copies, "a second type map; derive it from kikan_hub/layouts/types.py:\n" + "\n".join(copies)


def test_the_scan_finds_the_forms_the_copies_took(tmp_path):
    """The detector itself: each of the old copies' shapes is found (so an empty result above means something)."""
    samples = {
        "polars.py": 'POLARS = {"text": pl.Utf8, "integer": pl.Int64, "decimal": pl.Float64}\n',
        "sql.py": '_SQL = {"text": lambda c: Text(), "decimal": lambda c: Numeric(18, c.item.scale)}\n',
        "py.py": '_PY = {"text": str, "integer": int, "decimal": Decimal, "date": dt.date, "flag": bool}\n',
        "chain.py": ('def arrow(col):\n    if col.type == "decimal":\n        return pa.decimal128(18, 0)\n'
                     '    if col.type in ("date",):\n        return pa.date32()\n'),
        "xsd.py": ('def simple(col):\n    if col.type == "date":\n        return "xs:date"\n'
                   '    if col.type == "flag":\n        return "xs:boolean"\n'),
        "legacy.py": ('def legacy(f):\n    if f.type in ("zoned", "packed"):\n        return pa.decimal128(18, 2)\n'
                      '    if f.type == "integer":\n        return pa.int64()\n'),
        "widths.py": 'WIDTH = {"text": 2, "integer": 19, "date": 8}\n',
    }
    found = {}
    for name, src in samples.items():
        p = tmp_path / name
        p.write_text(src, encoding="utf-8")
        found[name] = bool(type_map_copies(p))
    assert found == {"polars.py": True, "sql.py": True, "py.py": True, "chain.py": True, "xsd.py": True,
                     "legacy.py": False, "widths.py": False}
