"""Item vectors: the process's encoder (loaded once, verified), batch encoding with a small cache,
and the `item_vectors` rows that keep each item's vector so nothing is encoded twice."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from sqlalchemy import Integer, select
from sqlmodel import Session

from app.core.sql import insert_ignore, is_in
from app.routing.embedding import Embedder, load_default_embedder
from app.routing.models import ItemVector
from app.routing.represent import LongTextEmbedder

VECTORS = ItemVector.__table__  # type: ignore[attr-defined]
# Repeated texts ("Loved it", a template's answer) are common; their vectors are kept a while.
CACHE_SIZE = 20_000

_lock = threading.Lock()
_loaded = False
_encoder: Embedder | None = None
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def process_encoder() -> Embedder | None:
    """This process's sentence encoder (long texts pooled by chunks), or None: TF-IDF grouping only.
    Loaded and checked once; `app.routing.embedding.encoder_status` says what happened."""
    global _loaded, _encoder
    with _lock:
        if not _loaded:
            inner = load_default_embedder()
            _encoder = LongTextEmbedder(inner) if inner is not None else None
            _loaded = True
        return _encoder


class CachedEncoder:
    """The process encoder seen through the vector cache: the router's features and the grouping of
    the same batch encode each text once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return encode(self.inner, texts)


def cached_encoder() -> CachedEncoder | None:
    encoder = process_encoder()
    return CachedEncoder(encoder) if encoder is not None else None


def encoder_name() -> str:
    """The name vectors and calibrations are stored under for this process's encoder ("" if none)."""
    encoder = process_encoder()
    return encoder.name if encoder is not None else ""


def use_encoder(encoder: Embedder | None) -> None:
    """Tools and tests: run this process with another encoder (or none) from now on."""
    global _loaded, _encoder
    with _lock:
        _encoder, _loaded = encoder, True
        _cache.clear()


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def encode(encoder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """One unit vector per text, in batches; texts seen lately are not encoded again."""
    out = np.zeros((len(texts), 0), dtype=np.float32)
    keys = [_key(t) for t in texts]
    missing: dict[str, str] = {}
    with _lock:
        known = {k: _cache[k] for k in keys if k in _cache}
    for k, t in zip(keys, texts, strict=True):
        if k not in known:
            missing.setdefault(k, t)
    if missing:
        fresh = encoder.embed(list(missing.values()))
        with _lock:
            for k, v in zip(missing, fresh, strict=True):
                known[k] = _cache[k] = np.asarray(v, dtype=np.float32)
                _cache.move_to_end(k)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if not texts:
        return out
    return np.stack([known[k] for k in keys])


def warm(texts: Iterable[str | None]) -> None:
    """Encodes these texts into the cache now, before the caller opens its write transaction: on SQLite
    the write lock is one for the whole database, and encoding under it serialises every writer behind
    the encoder."""
    encoder = process_encoder()
    distinct = list(dict.fromkeys(t for t in texts if t and t.strip()))
    if encoder is not None and distinct:
        encode(encoder, distinct[:CACHE_SIZE])


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f2").astype(np.float32)


def store(session: Session, encoder: str, vectors: Mapping[int, np.ndarray]) -> None:
    if vectors:
        session.execute(
            insert_ignore(session, VECTORS, ["item_id"]),
            [{"item_id": i, "encoder": encoder, "vector": to_bytes(v)} for i, v in sorted(vectors.items())],
        )


def load(session: Session, encoder: str, item_ids: Iterable[int]) -> dict[int, np.ndarray]:
    """Stored vectors of these items made by ``encoder`` (others are missing from the result)."""
    ids = sorted(set(item_ids))
    out: dict[int, np.ndarray] = {}
    c = VECTORS.c
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        rows = session.execute(
            select(c.item_id, c.vector).where(is_in(session, c.item_id, chunk, Integer), c.encoder == encoder)
        )
        out.update({int(r.item_id): from_bytes(r.vector) for r in rows})
    return out


def ensure(session: Session, encoder: Embedder, texts: Mapping[int, str]) -> dict[int, np.ndarray]:
    """Vectors for these items: stored ones read, the rest encoded and stored now."""
    found = load(session, encoder.name, texts)
    todo = [i for i in sorted(texts) if i not in found]
    if todo:
        fresh = encode(encoder, [texts[i] for i in todo])
        made = dict(zip(todo, fresh, strict=True))
        # Vectors of another encoder give way; a concurrent process may store the same ones first.
        session.execute(VECTORS.delete().where(is_in(session, VECTORS.c.item_id, todo, Integer)))
        store(session, encoder.name, made)
        found.update(made)
    return found
