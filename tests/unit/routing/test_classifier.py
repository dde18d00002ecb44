import csv
from pathlib import Path

import numpy as np
import pytest

from app.routing.calibration import expected_calibration_error
from app.routing.classifier import ClassifierSettings, StageModel, TrainingExample, uses_issue_keys

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"

HAND_MADE = [
    TrainingExample("my card has not arrived yet", "get_card", "card_arrives", "card_late"),
    TrainingExample("still waiting for my new card in the post", "get_card", "card_arrives", "card_late"),
    TrainingExample("when will my card be delivered", "get_card", "card_arrives", "card_late"),
    TrainingExample("how do I activate the card I received", "get_card", None, "activate"),
    TrainingExample("activate my new debit card", "get_card", None, "activate"),
    TrainingExample("I was charged twice for one purchase", "fees", None, "double_charge"),
    TrainingExample("there is a duplicate charge on my statement", "fees", None, "double_charge"),
    TrainingExample("why is there a fee on my transfer", "fees", None, "transfer_fee"),
    TrainingExample("you charged me an extra fee", "fees", None, "transfer_fee"),
    TrainingExample("my transfer has not reached the recipient", "send_money", None, "transfer_late"),
    TrainingExample("the money I sent is still pending", "send_money", None, "transfer_late"),
    TrainingExample("how long does a bank transfer take", "send_money", None, "transfer_late"),
    TrainingExample("I cannot add the payee to send money", "send_money", None, "payee"),
]


@pytest.fixture(scope="module")
def model() -> StageModel:
    return StageModel.train(HAND_MADE)


def test_routes_clearly_worded_text(model: StageModel) -> None:
    assert model.predict("my new card still has not arrived").stage == "get_card"
    assert model.predict("I got charged twice").stage == "fees"
    assert model.predict("my transfer is still pending").stage == "send_money"


def test_moment_and_issue_come_with_the_stage() -> None:
    by_issue = StageModel.train(HAND_MADE, settings=ClassifierSettings(use_issue_keys=True))
    prediction = by_issue.predict("still waiting for my card to be delivered")
    assert prediction.stage == "get_card"
    assert prediction.moment == "card_arrives"
    assert prediction.issue_key == "card_late"
    assert prediction.version == by_issue.version


def test_issue_keys_are_used_only_with_enough_examples_per_issue() -> None:
    settings = ClassifierSettings()
    assert not uses_issue_keys(HAND_MADE, settings)
    many = [TrainingExample(f"text {i}", "s", None, f"issue-{i % 2}") for i in range(40)]
    assert uses_issue_keys(many, settings)
    assert not uses_issue_keys(many, ClassifierSettings(use_issue_keys=False))


def test_gibberish_gets_low_confidence(model: StageModel) -> None:
    clear = model.predict("I was charged twice for the same purchase").confidence
    noise = model.predict("qzxv plomk wubbery fjjd").confidence
    assert 0.0 <= noise <= 1.0
    assert noise < 0.6
    assert noise < clear


def test_save_load_round_trip_is_identical(model: StageModel, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = StageModel.load(path)
    texts = ["card not here", "double charge", "send money pending", "zzz"]
    assert loaded.version == model.version
    assert loaded.predict_many(texts) == model.predict_many(texts)


def test_load_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, meta=np.frombuffer(b'{"format": "x"}', dtype=np.uint8))
    with pytest.raises(ValueError, match="not a Seam stage model"):
        StageModel.load(path)


def test_version_tracks_training_data_and_settings() -> None:
    base = StageModel.train(HAND_MADE[:6])
    assert StageModel.train(list(reversed(HAND_MADE[:6]))).version == base.version
    assert StageModel.train(HAND_MADE[:7]).version != base.version
    assert StageModel.train(HAND_MADE[:6], settings=ClassifierSettings(c=2.0)).version != base.version


def test_a_correction_changes_the_prediction_for_similar_text(model: StageModel) -> None:
    text = "the app froze while I was uploading my passport photo"
    before = model.predict(text).stage
    correction = TrainingExample("app froze uploading passport photo", "join_and_verify")
    retrained = StageModel.train([*HAND_MADE, correction])
    assert before != "join_and_verify"
    assert retrained.predict("the app froze while uploading my passport").stage == "join_and_verify"


def test_one_example_per_stage_and_journey_examples_without_issue_keys() -> None:
    examples = [
        TrainingExample("card never arrived", "get_card"),
        TrainingExample("charged a fee", "fees", "first_bill"),
    ]
    tiny = StageModel.train(examples)
    assert tiny.predict("my card never arrived").stage == "get_card"
    assert tiny.predict("another fee charged").moment == "first_bill"
    single = StageModel.train(examples[:1])
    assert single.predict("anything").stage == "get_card"


def test_confidence_is_calibrated_on_real_data() -> None:
    """On a BANKING77 sample the stated confidence is close to the observed accuracy."""
    with open(DATA / "label_to_stage.csv") as handle:
        stage = {r["label"]: r["stage"] for r in csv.DictReader(handle)}
    with open(DATA / "banking77" / "train.csv") as handle:
        rows = list(csv.DictReader(handle))
    train, test = rows[::4], rows[1::8]
    fitted = StageModel.train(
        TrainingExample(r["text"], stage[r["category"]], None, r["category"]) for r in train
    )
    predictions = fitted.predict_many([r["text"] for r in test])
    confidence = np.array([p.confidence for p in predictions])
    correct = np.array([p.stage == stage[r["category"]] for p, r in zip(predictions, test, strict=True)])
    assert correct.mean() > 0.85
    assert expected_calibration_error(confidence, correct) < 0.05


class TopicEmbedder:
    name = "topic-test"

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = [[1.0, 0.0] if "card" in t else [0.0, 1.0] for t in texts]
        return np.array(rows, dtype=np.float32)


def test_model_with_an_embedder_needs_it_to_load(tmp_path: Path) -> None:
    embedder = TopicEmbedder()
    fitted = StageModel.train(HAND_MADE, embedder=embedder)
    path = tmp_path / "model.npz"
    fitted.save(path)
    with pytest.raises(ValueError, match="topic-test"):
        StageModel.load(path)
    loaded = StageModel.load(path, embedder=embedder)
    assert loaded.predict("card delayed") == fitted.predict("card delayed")
    assert fitted.version != StageModel.train(HAND_MADE).version
