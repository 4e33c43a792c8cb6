"""What the pages tell a visitor about the model and the data: inactive units, a missing dataset."""

from __future__ import annotations

import numpy as np

from explorer.training_facts import beta_text, facts_of
from vae.bundles.serving import ServedModel
from vae.model.posterior import ACTIVE_UNIT_THRESHOLD, unit_activity

# What a visitor is told when a dataset is not on the server: only whoever runs the server can fix it.
DATA_HELP = ("Whoever runs this server can point it at a local copy of the dataset: start it with "
             "`VAE_DATA_DIR=/path/to/data streamlit run app.py`, where the folder holds the four IDX files "
             "(or one folder of them per dataset, `mnist/`, `fashion_mnist/`). Debian's "
             "`dataset-fashion-mnist` package is found by itself. See the README's *Data* section.")


def unit_activity_notice(model: ServedModel) -> tuple[str, str] | None:
    """("warning" or "info", text) when some latent units are inactive, else None.

    An inactive unit's z_mean hardly changes between images: the encoder ignores it. Where the model uses
    fewer than two units that is why its map looks broken, and the advice is to train differently; a model
    with units to spare (16-D) leaving a few unused is normal, and only worth a word.
    """
    ref = model.reference
    if ref is None:
        return None
    act = unit_activity(ref["z_mean"], ref["z_log_var"])
    d, used = len(act["active"]), int(act["active"].sum())
    idle = np.flatnonzero(~act["active"])
    if not len(idle):
        return None
    names = ", ".join(f"z{k}" for k in idle[:8]) + (f" and {len(idle) - 8} more" if len(idle) > 8 else "")
    figures = "; ".join(f"z{k}: {act['variance'][k]:.3f}, mean z_std {act['z_std'][k]:.2f}, "
                        f"KL {act['kl'][k]:.2f} nats" for k in idle[:3])
    it = "it" if len(idle) == 1 else "them"
    what = (f"{names} {'hardly changes' if len(idle) == 1 else 'hardly change'} from one test image to "
            f"another: the variance of z_mean is below the {ACTIVE_UNIT_THRESHOLD} of an active unit "
            f"({figures}). The encoder does not use {it} to tell images apart, so the decoder draws the same "
            f"image all along {it}.")
    beta = facts_of(model).beta
    if used >= min(d, 2):
        why = ("the KL term keeps them at the prior, N(0, 1)." if beta > 0 else
               "with β = 0 there is no KL term to keep them at the prior; the encoder just leaves them out.")
        return "info", (f"**{used} of {d} latent units are active.** {what} A VAE with more dimensions "
                        f"than the data needs leaves some unused: {why}")
    if beta == 0:
        return "warning", (
            f"**Only {used} of {d} latent units {'is' if used == 1 else 'are'} active.** {what} With β = 0 "
            "there is no KL term, so this is not posterior collapse: this training found no use for "
            f"{it}. To try: train for more epochs.")
    return "warning", (
        f"**Only {used} of {d} latent units {'is' if used == 1 else 'are'} active.** {what} This is "
        f"*posterior collapse*: the KL term (β = {beta_text(beta)}) pulled those units onto the prior before "
        "the decoder learned to use them. It is common after a short training. To try: train for more "
        f"epochs, or lower **β** below {beta_text(beta)} (Train page) so that the KL term pulls less; a KL "
        "warm-up (`--kl-warmup` on the command line) helps too.")
