"""The in-browser decoder's pad for one model, as the Decoder and How it works both draw it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from explorer import cache
from explorer.models import Handle
from live_decoder import live_decoder, live_decoder_error


def live_pad(handle: Handle, z: Sequence[float], sliders: np.ndarray, key: str,
             on_release: Callable | None = None, strip: dict | None = None) -> str | None:
    """The model's decoder in the browser at z, one slider per row of `sliders` (lo, hi), over the test
    digits' map, with `strip` (live_decoder's) under it; why the browser could not run it (None if it can, or
    has not said)."""
    points, labels, plane = cache.live_decoder_inputs(handle)
    classifier = handle.served.classifier  # its probabilities shown live beside the image
    live_decoder(cache.decoder_bytes(handle), handle.served.latent_dim, [float(v) for v in z],
                 [tuple(r) for r in sliders], points, labels, key=key, plane=plane, on_release=on_release,
                 classifier=None if classifier is None else cache.classifier_bytes(handle),
                 class_names=None if classifier is None else classifier.labels,
                 strip=strip,
                 image_shape=tuple(handle.served.image_shape))
    return live_decoder_error(key)
