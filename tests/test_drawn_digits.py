"""Digits of every class drawn on the Encode canvas, on the default model: MNIST-like, among their kind."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scripts import drawn_digits  # the stroke templates, shared with scripts/bench_drawn_digits.py
from vae.inputs.preprocess import CANVAS_STROKE, MNIST_STROKE, stroke_width, to_mnist

REPO = Path(__file__).resolve().parent.parent
# The page's canvas, and the one issue 14 reported (an 18 px pen, strokes left as drawn): every bar below
# is checked to be missed by the old one, so that these tests fail without the fix.
NOW = (CANVAS_STROKE, MNIST_STROKE)
OLD = (18, None)
# MNIST's test digits' strokes: quartiles of stroke_width, measured upsampled 8x
# (python scripts/bench_drawn_digits.py --mnist ../shared/data/mnist).
MNIST_QUARTILES = (2.0, 2.75)
# Measured for NOW on 20 clean drawings per class, seeds 0-2: overall share 0.674-0.682 (OLD 0.624-0.650),
# the 2s' share 0.76-0.86 (OLD 0.58-0.62), reconstruction 134.7-135.8 nats (OLD 140.3-140.9).
MIN_SHARE = 0.66
MIN_SHARE_OF_2S = 0.70
REC_MARGIN = 4.0  # nats above the model's mean on MNIST's test digits


@cache
def _model():
    from vae.bundles.serving import ServedModel

    return ServedModel(REPO / "models" / "mnist-2d")


@cache
def _rates(settings: tuple, n: int = 20, seed: int = 0, size: float | None = None) -> dict[int, dict]:
    pen, stroke = settings
    images, labels = drawn_digits.drawings(n, pen, seed=seed, size=size, style="clean")
    return drawn_digits.own_kind(_model(), images, labels, lambda img: to_mnist(img, stroke=stroke).image)


def _test_rec() -> float:
    return float(_model().card["test_metrics"]["reconstruction_loss_at_mean"])


def _stroke_misses(settings: tuple) -> list[str]:
    """The drawing sizes whose 28x28 strokes fall outside MNIST's quartiles."""
    pen, stroke = settings
    misses = []
    for size in (120, 180, 250):
        images, _ = drawn_digits.drawings(2, pen, seed=0, size=size, style="clean")
        widths = []
        for a in images:
            x = to_mnist(Image.fromarray(a), stroke=stroke).image
            big = Image.fromarray(x, "F").resize((28 * 8, 28 * 8), Image.Resampling.BICUBIC)
            widths.append(stroke_width(np.asarray(big)) / 8)
        if not MNIST_QUARTILES[0] <= np.mean(widths) <= MNIST_QUARTILES[1]:
            misses.append(f"{size} px tall: strokes {np.mean(widths):.2f} px")
    return misses


def test_the_drawing_is_what_the_canvas_sends():
    """White ink, opaque black ground, RGBA 280x280: to_mnist reads it by polarity, not inverted."""
    a = drawn_digits.render(drawn_digits.pen_paths(2), CANVAS_STROKE)
    assert a.shape == (280, 280, 4) and a.dtype == np.uint8 and (a[..., 3] == 255).all()
    assert a[0, 0, :3].max() == 0 and a[..., 0].max() == 255
    pre = to_mnist(Image.fromarray(a), stroke=MNIST_STROKE)
    assert not pre.inverted and not pre.alpha_used


def test_drawn_strokes_are_mnists_at_every_size():
    assert not _stroke_misses(NOW)
    assert _stroke_misses(OLD), "the old canvas made MNIST-like strokes too: this test proves nothing"


@pytest.mark.slow
def test_drawn_digits_reconstruct_like_mnist_at_every_size():
    """The model's reconstruction loss, the page's own measure of how unusual an input is, stays near its
    mean on MNIST's test digits whether the digit was drawn small or large."""
    limit = _test_rec() + REC_MARGIN
    recs = {settings: {size: np.mean([v["rec"] for v in _rates(settings, n=6, size=size).values()])
                       for size in (120, 200, 250)} for settings in (NOW, OLD)}
    assert all(r <= limit for r in recs[NOW].values()), (recs, limit)
    # The old canvas's strokes reconstruct worse. (Its digits went over the limit too until issue 27's photo
    # work kept strokes' faint edges, which brought them within it.)
    assert np.mean(list(recs[NOW].values())) < np.mean(list(recs[OLD].values())), recs


@pytest.mark.slow
def test_drawn_digits_land_among_their_own_kind():
    """Clean drawings of every class (three ways of writing each, 20 drawings, 150-240 px tall): how often
    the 8 nearest test digits by z_mean, as the page lists them, are of the drawn class."""
    now = _rates(NOW)
    shares = {c: v["share"] for c, v in now.items()}
    table = ", ".join(f"{c}: {s:.2f}" for c, s in shares.items())
    assert np.mean(list(shares.values())) >= MIN_SHARE, table
    assert shares[2] >= MIN_SHARE_OF_2S, table  # issue 14's "2" that landed among 3s and 8s
    # The classes the 2-D model separates well stay near-perfect; the page's majority label is right for
    # most drawings of most classes. (8s are not: the model's 8s are narrow and slanted, and a round 8
    # lands among 3s; MNIST's own 4s, 5s and 9s share only about half their neighbours with their kind.)
    assert min(shares[c] for c in (0, 1, 6)) >= 0.85, table
    assert sum(v["majority"] > 0.5 for v in now.values()) >= 7, table
    assert np.mean([v["rec"] for v in now.values()]) <= _test_rec() + REC_MARGIN

    old = _rates(OLD)
    assert np.mean([v["share"] for v in old.values()]) < MIN_SHARE
    assert old[2]["share"] < MIN_SHARE_OF_2S
