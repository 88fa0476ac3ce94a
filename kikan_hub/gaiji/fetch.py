"""Download the official MJ file and verify its SHA-256 before anything else sees it."""
from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from .errors import GaijiError, IntegrityError


def fetch(url: str, sha256: str, dest_dir: str | Path, filename: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``dest_dir``; the file appears under its final name only if the digest matches."""
    expected = sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise GaijiError(f"--sha256 must be 64 hex digits, got {sha256!r}")
    if not url.lower().startswith(("http://", "https://")):
        raise GaijiError(f"only http(s) URLs are fetched, got {url!r}")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = filename or url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "mji.xlsx"
    target = dest_dir / name
    part = dest_dir / (name + ".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as out:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise GaijiError(f"download of {url} failed: {exc}") from exc
    actual = h.hexdigest()
    if actual != expected:
        part.unlink(missing_ok=True)
        raise IntegrityError(f"SHA-256 mismatch for {url}: expected {expected}, got {actual}; nothing was kept")
    part.replace(target)
    return target
