"""Assembling the review page from the command line's arguments (fonts, register, store, candidates)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kikan_hub.gaiji.errors import GaijiError


def mj_details(index_path: Path, names: set[str]) -> dict[str, dict]:
    """Readings and stroke counts of the candidate MJ characters (empty without an MJ index)."""
    if not index_path.exists():
        return {}
    from kikan_hub.gaiji.mj_index import MJIndex

    out = {}
    with MJIndex.open(index_path) as idx:
        for rec in idx.records(sorted(names)):
            out[rec.mj] = {"strokes": rec.strokes, "yomi": list(rec.yomi)}
    return out


def default_source_system(register_path: Path, explicit: str | None) -> str:
    from kikan_hub.gaiji.register import GaijiRegister

    if explicit:
        return explicit
    systems = sorted({r.source_system for r in GaijiRegister.open_or_new(register_path).rows})
    if len(systems) == 1:
        return systems[0]
    raise GaijiError(f"{register_path}: --source-system を指定してください "
                     f"(台帳の移行元システム: {', '.join(systems) or 'なし'})")


def build_review_app(*, register: Path, font: Path, source_system: str | None, mj_font: Path | None,
                     encoding: str = "cp932", top: int = 9, store: str | None = None, data_dir: Path | None = None,
                     progress: Callable[[str], None] = lambda s: None, engine=None, master: bytes | None = None):
    from kikan_hub.api.auth import keys
    from kikan_hub.api.auth.clients import ClientRegistry
    from kikan_hub.gaiji.glyphs.match import Hints, check_encoding, match_font, private_use_glyphs
    from kikan_hub.gaiji.glyphs.reference import find_mj_font, load_reference
    from kikan_hub.gaiji.glyphs.render import GlyphRenderer
    from kikan_hub.gaiji.paths import data_dir as ddir
    from kikan_hub.gaiji.paths import default_mj_index_path
    from kikan_hub.gaiji.register import GaijiRegister

    from .app import ReviewState, create_review_app
    from .login import ReviewLogin

    if not 1 <= top <= 9:
        raise GaijiError("--top は 1〜9 です (キー 1–9 で選ぶため)")
    system = default_source_system(register, source_system)
    # accounts first: a missing key or store fails before the (possibly long) reference build
    if engine is None:
        from kikan_hub.api.server import prepare_store
        from kikan_hub.store.engine import StoreError, default_store_url, open_engine

        try:
            engine = open_engine(store or default_store_url())
            prepare_store(engine)
        except StoreError as exc:
            raise GaijiError(str(exc)) from exc
    if master is None:
        try:
            master = keys.load_master_key()
        except keys.KeyError_ as exc:
            raise GaijiError(str(exc)) from exc
    vendor = GlyphRenderer(font)
    private_use_glyphs(vendor)
    check_encoding(encoding)
    ref_path = find_mj_font(mj_font)
    ref = load_reference(ref_path, ddir(data_dir))
    if ref.build_seconds is not None:
        progress(f"MJ字形の特徴量を作成: {len(ref.mj):,} 字形 {ref.build_seconds:.1f} 秒 → {ref.cache_path}")
    index_path = default_mj_index_path(data_dir)
    index = None
    if index_path.exists():
        from kikan_hub.gaiji.mj_index import MJIndex

        index = MJIndex.open(index_path)
    try:
        hints = Hints(GaijiRegister.open_or_new(register), index, system)
        matches = match_font(vendor, ref, top=top, encoding=encoding, hints=hints)
    finally:
        if index is not None:
            index.close()
    progress(f"{font.name}: {len(matches):,} 文字の候補を計算しました")
    info = mj_details(index_path, {c["mj"] for m in matches for c in m.candidates})
    state = ReviewState(Path(register), system, vendor, GlyphRenderer(ref_path), ref, matches, info)
    return create_review_app(state, ReviewLogin(ClientRegistry(engine, master)))
