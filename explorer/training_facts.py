"""What the pages say about how a model was trained, chosen from its own numbers: β, the loss, its stages."""

# Every explanation that states the loss, or what the KL term does to this model, takes its words from
# here, so that a β = 0 model is never told that a KL term pulls its clouds, and a second-stage model is
# never said to be trained from scratch.

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from pathlib import Path

from vae.bundles.bundle import CARD_JSON, CONFIG, MANIFEST, read_json, read_training_config
from vae.bundles.serving import ServedModel

IMPORTED = "imported"


@dataclass(frozen=True)
class TrainingFacts:
    """β, whether it was recorded, and the stages: 1 from scratch, 2 a new encoder for a first stage's frozen
    decoder (`first_stage`: what the card says of that stage), None where the bundle does not say."""

    beta: float
    beta_known: bool = True
    stages: int | None = 1
    first_stage: dict | None = None


# A served model is loaded once per save (explorer.models), so its facts are worked out once for it: pages
# ask for them several times a run, and training_config.json is a file read.
_FACTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def facts_of(model: ServedModel) -> TrainingFacts:
    """The facts a model's card, config and training_config.json record about its training (once a model)."""
    try:
        return _FACTS[model]
    except KeyError:
        facts = _FACTS[model] = _facts(model.card or {}, model.config or {}, model.path)
        return facts
    except TypeError:  # not weakly referable (a stand-in with a card and a config): worked out each time
        return _facts(model.card or {}, model.config or {}, model.path)


def facts_in(path: str | Path) -> TrainingFacts:
    """The same facts for a bundle folder that is not loaded (read once per save of it)."""
    path = Path(path).resolve()
    saved = (path / MANIFEST).stat().st_mtime if (path / MANIFEST).is_file() else None
    return _facts_in(str(path), saved)


@functools.lru_cache(maxsize=64)
def _facts_in(path: str, saved: float | None) -> TrainingFacts:
    return _facts(read_json(Path(path) / CARD_JSON, {}), read_json(Path(path) / CONFIG, {}), path)


def _facts(card: dict, config: dict, path: str | Path) -> TrainingFacts:
    beta = float(card.get("beta", config.get("beta", 1.0)))
    imported = (card.get("preset") or config.get("preset")) == IMPORTED
    first = card.get("decoder_from")
    if not first:
        recipe = read_training_config(path)
        first = getattr(recipe, "decoder_from", None)
    stages = None if imported else 2 if first else 1
    return TrainingFacts(beta, not imported, stages, first if isinstance(first, dict) else None)


def beta_text(beta: float) -> str:
    """β as the pages print it: 0, 1, 5, 0.25."""
    return f"{beta:g}"


def beta_phrase(facts: TrainingFacts) -> str:
    """This model's β and what it makes of the loss: 'β = 0 (no KL term: reconstruction alone)'."""
    b = beta_text(facts.beta)
    if not facts.beta_known:
        return "β taken as 1 (an imported model's β is not recorded)"
    what = ("no KL term: reconstruction alone" if facts.beta == 0 else "the negative ELBO" if facts.beta == 1
            else f"the KL term weighed {b} times as much as in the negative ELBO")
    return f"β = {b} ({what})"


def loss_formula(facts: TrainingFacts) -> str:
    """The loss with this model's β filled in, in words: 'reconstruction + β·KL with β = 0 (…)'."""
    return f"reconstruction + β·KL with {beta_phrase(facts)}"


def loss_latex(facts: TrainingFacts) -> str:
    """The same as LaTeX, β filled in."""
    return (r"\text{loss} = \text{reconstruction} + \beta\cdot\mathrm{KL},\qquad \beta = "
            + beta_text(facts.beta))


def stage_sentence(facts: TrainingFacts) -> str | None:
    """How the model came to be: from scratch, or a second stage; None where the bundle does not say."""
    if facts.stages == 1:
        return "It was trained from scratch: encoder and decoder together, from random weights."
    if facts.stages == 2:
        first = facts.first_stage or {}
        what = f" ({first['epochs']} epochs)" if first.get("epochs") else ""
        return (f"It was trained in two stages: a first stage{what} trained an encoder and a decoder; this "
                "model's encoder is a new one, trained for that decoder while the decoder stayed frozen.")
    return None


def loss_sentence(facts: TrainingFacts) -> str:
    """One sentence for a page's notes: the loss it was trained on, and how."""
    stage = stage_sentence(facts)
    return f"This model was trained on {loss_formula(facts)}." + (f" {stage}" if stage else "")
