"""Long-text representation: redactions out, complaint sentences in."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.routing.represent import (
    LexicalEncoder,
    centre,
    chunks,
    clean,
    document_frequencies,
    hybrid,
    key_sentences,
    represent,
)


class CountingEmbedder:
    name = "fake"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += list(texts)
        v = np.array([[1.0 + len(t) % 3, 1.0, 0.5] for t in texts])
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_clean_removes_redaction_marks() -> None:
    text = "On XX/XX/XXXX XXXX charged me {$12.00} on XX/XX/2019 for account XXXX."
    assert clean(text) == "On charged me on for account ."


def test_key_sentences_skip_boilerplate() -> None:
    boiler = "I am writing to dispute the following information in my file."
    history = [boiler + " Please investigate."] * 30 + ["My mortgage escrow was miscalculated."]
    df, n = document_frequencies(history)
    text = f"{boiler} The lender double counted my escrow payment in March. {boiler}"
    assert key_sentences(text, df, n, words=12) == "The lender double counted my escrow payment in March."


def test_chunk_pooling_embeds_every_window_once() -> None:
    long = " ".join(f"w{i}" for i in range(250))
    assert len(chunks(long)) == 3
    emb = CountingEmbedder()
    out = represent([long, "short text"], emb, "chunks")
    assert out.shape == (2, 3)
    assert len(emb.seen) == 4
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)


def test_lexical_encoder_and_hybrid_are_unit_vectors() -> None:
    history = ["card not arrived", "charged twice", "card arrived late", "refund not received"] * 3
    enc = LexicalEncoder(history, dim=3)
    v = enc.embed(["my card has not arrived", "charged twice again"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    h = hybrid(v, v, 0.7)
    assert np.allclose(np.linalg.norm(h, axis=1), 1.0)
    c = centre(v, v.mean(axis=0))
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0)
