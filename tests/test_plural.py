"""Counts in words: singular for one, plural otherwise, in messages and cards alike."""

from vae.model.training_config import TrainingConfig
from vae.plural import count, noun


def test_count_and_noun():
    assert count(1, "epoch") == "1 epoch" and count(2, "epoch") == "2 epochs" and count(0, "job") == "0 jobs"
    assert count(1437, "image") == "1,437 images"
    assert count(1, "image pass", "image passes") == "1 image pass"
    assert count(3, "image pass", "image passes") == "3 image passes"
    assert noun(1, "key") == "key" and noun(2, "key") == "keys"


def test_a_card_counts_its_epochs():
    config = TrainingConfig(dataset="digits", latent_dim=2, epochs=2, kl_warmup=1)
    assert "over the first 1 epoch" in config.describe(averaged_epochs=1)
    assert "over the last 1 epoch (SWA)" in config.describe(averaged_epochs=1)
    assert "over the last 2 epochs (SWA)" in config.describe(averaged_epochs=2)
