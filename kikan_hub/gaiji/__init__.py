"""外字: MJ index, the municipality's gaiji register, resolution, folding, CP932 policy.

This package imports nothing else from kikan_hub. Public API (imported lazily):

- ``MJIndex`` (mj_index): import the MJ list / extracts into SQLite, look up characters
- ``GaijiRegister``, ``GaijiRow`` (register): the 外字台帳, CSV/Excel, decision log
- ``propose``, ``identify_register`` (identify): ranked MJ candidates
- ``Resolver`` (resolve): vendor character → Unicode over pyarrow arrays
- ``fold_text``, ``FoldRecord`` (fold): MJ縮退マップ folding for JIS X 0208 / 0213 / code pages
- ``encode_cp932_windows`` (cp932): CP932 as Windows writes it
- ``build_fidelity_report``, ``write_report`` (report)
- ``fetch`` (fetch): download + SHA-256 check
"""
from __future__ import annotations

import importlib

_API = {
    "MJIndex": "mj_index", "MJRecord": "mj_index",
    "GaijiRegister": "register", "GaijiRow": "register",
    "propose": "identify", "identify_register": "identify", "Candidate": "identify",
    "Resolver": "resolve", "Unresolved": "resolve",
    "fold_text": "fold", "FoldRecord": "fold",
    "encode_cp932_windows": "cp932", "CP932EncodeError": "cp932",
    "build_fidelity_report": "report", "write_report": "report",
    "fetch": "fetch", "GaijiError": "errors",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(name)
