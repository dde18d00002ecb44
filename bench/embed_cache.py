"""An on-disk cache of sentence vectors for the benchmarks: each distinct text is encoded once
per encoder name, so a second run measures the engine, not the encoder. Timings of a cold run
are the ones recorded in docs/benchmarks.md."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.routing.embedding import Embedder


class DiskCachedEmbedder:
    def __init__(self, inner: Embedder, folder: str | Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = Path(folder) / f"{hashlib.sha256(inner.name.encode()).hexdigest()[:16]}.npz"
        self.cache: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path) as data:
                self.cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        todo = sorted({(k, t) for k, t in zip(keys, texts, strict=True) if k not in self.cache})
        if todo:
            vectors = self.inner.embed([t for _, t in todo])
            for (k, _), v in zip(todo, vectors, strict=True):
                self.cache[k] = v
            self.path.parent.mkdir(parents=True, exist_ok=True)
            names = sorted(self.cache)
            np.savez(self.path, keys=np.array(names), vectors=np.stack([self.cache[k] for k in names]))
        if not texts:
            return self.inner.embed([])
        return np.stack([self.cache[k] for k in keys])
