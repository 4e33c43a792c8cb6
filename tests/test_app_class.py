"""Two visitors on one server, as two AppTest sessions: their own jobs and models, sharing, links by id."""

from __future__ import annotations

import os
import re
import shutil

from jobservice import user_models
from tests.support.class_server import ALICE, BOB, EVIL_NAME, job, owner, texts, visit, visitor_model
from vae.bundles.bundle import (
    DEFAULT_MODEL,
)


def test_a_visitor_sees_and_stops_only_their_own_jobs(server):
    server.start(job("Alice's"), owner=owner(ALICE))
    alice = visit(ALICE, "pages/train.py")
    assert "Alice's" in texts(alice) and [b.label for b in alice.button if b.label == "Cancel"]
    bob = visit(BOB, "pages/train.py")
    assert "Alice's" not in texts(bob) and "No training jobs yet." in texts(bob)
    assert "Cancel" not in [b.label for b in bob.button]
    assert "1 job running and 2 queued" in texts(bob)  # the limits are stated


def test_models_are_yours_shared_or_invisible(server):
    mine = visitor_model(server, ALICE, "alices-abc123", "Alice's MNIST")
    alice = visit(ALICE)
    assert "Alice's MNIST (yours)" in alice.selectbox(key="home_model").options
    bob = visit(BOB)
    assert not any("Alice" in o for o in bob.selectbox(key="home_model").options)
    # Bob cannot open it by its id, nor by its path.
    for link in ("user/alices-abc123", str(mine), "../../etc", "no-such-model"):
        bob = visit(BOB, model=link)
        assert any("not one of this server's models" in w.value for w in bob.warning), link
        assert bob.session_state["model_path"] == str(DEFAULT_MODEL.resolve())

    # Alice opens hers and shares it with the class: now Bob sees it, marked as shared, and cannot change it.
    alice = visit(ALICE, model="user/alices-abc123")
    assert alice.session_state["model_path"] == str(mine.resolve())
    alice.toggle(key="share-user/alices-abc123").set_value(True).run()
    assert user_models.access(mine).shared
    bob = visit(BOB)
    assert "Alice's MNIST (shared)" in bob.selectbox(key="home_model").options
    bob = visit(BOB, model="user/alices-abc123")
    assert bob.session_state["model_path"] == str(mine.resolve())
    assert "A classmate shared this model" in texts(bob)
    assert not [t for t in bob.toggle if t.key and t.key.startswith("share-")]
    assert not [b for b in bob.button if b.label == "Delete"]

    # Alice deletes it: it is gone for her, and Bob's next run falls back to the default with a word.
    alice = visit(ALICE, model="user/alices-abc123")
    next(b for b in alice.button if b.label == "Delete").click().run()
    assert not mine.exists()
    assert alice.session_state["model_path"] == str(DEFAULT_MODEL.resolve())
    bob.run()
    assert bob.session_state["model_path"] == str(DEFAULT_MODEL.resolve())
    # (AppTest's later runs execute the page alone, not app.py, which shows the notice: the browser test
    # sees it shown.)
    assert "deleted or is no longer shared with you" in bob.session_state["model_notice"]


def test_a_name_with_markdown_is_plain_text_everywhere(server):
    visitor_model(server, ALICE, "evil-abc123", EVIL_NAME)
    server.start(job(EVIL_NAME), owner=owner(ALICE))
    alice = visit(ALICE, model="user/evil-abc123")
    shown = texts(alice) + " ".join(m.value for m in alice.sidebar.caption)
    assert "](http" not in shown.replace("\\](http", "") and "http://" not in shown
    assert "\\*\\*bold\\*\\*" in shown  # escaped: shown as typed
    alice.switch_page("pages/train.py").run()
    assert "](http" not in texts(alice).replace("\\](http", "")


def test_the_form_says_when_a_limit_is_reached(server, monkeypatch):
    monkeypatch.setenv("VAE_JOBS_PER_VISITOR", "1")
    alice = visit(ALICE, "pages/train.py")
    alice.selectbox[0].select("digits")
    alice.button[0].click().run()  # Start training: queued
    alice.text_input[0].input("another")
    next(b for b in alice.button if b.label == "Start training").click().run()
    assert [e.value for e in alice.error] == [
        "You already have 1 job queued or running, the most one visitor may have at once here. Wait for one "
        "to end, or cancel one."]
    assert len(server.list()) == 1


def test_open_by_path_is_off_unless_the_operator_allows_it(server, monkeypatch, tmp_path):
    folder = tmp_path / "mine"
    shutil.copytree(DEFAULT_MODEL, folder, copy_function=os.link)
    alice = visit(ALICE)
    assert not alice.text_input  # no box for a path on a shared server
    monkeypatch.setenv("VAE_ALLOW_BUNDLE_PATHS", "1")
    alice = visit(ALICE)
    alice.text_input(key="open_path").input(str(tmp_path / "nothing-here"))
    alice.button(key="open_path_button").click().run()
    assert alice.error and "no such model directory" in alice.error[0].value
    alice.text_input(key="open_path").input(str(folder))
    alice.button(key="open_path_button").click().run()
    assert alice.session_state["model_path"] == str(folder.resolve())
    assert "a folder opened by path" in texts(alice)


def test_a_model_made_at_the_command_line_is_the_servers_for_everyone(server, tiny_bundle):
    """`python -m vae train --out <user models>/x` (no job) is the operator's: listed for all, nobody's."""
    assert user_models.access(tiny_bundle).owner == user_models.SERVER  # the CLI marked it
    shutil.copytree(tiny_bundle, server.models_dir / "cli-made", copy_function=os.link)
    for token in (ALICE, BOB):
        options = visit(token).selectbox(key="home_model").options
        mine = [o for o in options if "cli-made" in o or o.startswith("tiny")]
        assert mine and not any("(yours)" in o or "(shared)" in o for o in mine), options
    at = visit(ALICE, model="user/cli-made")
    assert not [b for b in at.button if b.label == "Delete"]  # read-only: not Alice's


def test_a_job_saved_a_moment_ago_offers_its_model_at_once(server):
    """The model catalogue is cached for 2 s; a job that ended just now (its owner given by another replica's
    keeper, say) still shows "Use this model" on this run, not after some later one."""
    import json
    import time

    alice = visit(ALICE, "pages/train.py")  # the catalogue is cached now, without the new model
    bundle = visitor_model(server, ALICE, "fresh-abc123", "Fresh")
    d = server.root / "20261202-000000-abc123"
    d.mkdir(parents=True)
    (d / "spec.json").write_text(json.dumps({"spec": job("Fresh").to_dict(), "created": time.time(),
                                             "owner": owner(ALICE), "out": str(bundle)}))
    (d / "status.json").write_text(json.dumps({"state": "done", "message": "Trained 1 epoch.",
                                               "bundle": str(bundle), "finished": time.time()}))
    alice.run()
    assert "Use this model" in [b.label for b in alice.button]


def test_a_visitors_dollar_signs_never_render_as_math(server):
    """Streamlit's Markdown reads $…$ as LaTeX: a visitor's `$` must come out escaped, on Home's card, the
    sidebar and the Train page's job list."""
    visitor_model(server, ALICE, "money-abc123", "costs $5 and $x^2$")
    server.start(job("job $a$ b"), owner=owner(ALICE))
    alice = visit(ALICE, model="user/money-abc123")
    shown = texts(alice) + " ".join(m.value for m in alice.sidebar.caption)
    assert "costs \\$5 and \\$x^2\\$" in shown
    assert not re.search(r"(?<!\\)\$", shown), shown
    alice.switch_page("pages/train.py").run()
    assert "job \\$a\\$ b" in texts(alice) and not re.search(r"(?<!\\)\$", texts(alice))


def test_deleting_a_model_removes_its_published_decoder_at_once(server, tiny_bundle, monkeypatch, tmp_path):
    """Issue 25, finding 6: a deleted model's decoder stayed downloadable. Deleting one removes the file the
    browser fetched (in $VAE_HOME/decoders/models), unless another model has the same decoder (here the
    shipped default, whose decoder a hard-linked copy shares)."""
    from live_decoder import model_id_of_file
    from vae.bundles.bundle import DECODER_ONNX

    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))
    published = tmp_path / "home" / "decoders" / "models"
    own = server.models_dir / "own-abc123"
    shutil.copytree(tiny_bundle, own)
    user_models.set_owner(own, owner(ALICE))
    twin = visitor_model(server, ALICE, "twin-abc123", "The default's twin")
    files = {}
    for bundle in (own, twin):
        visit(ALICE, "pages/decoder.py", model=f"user/{bundle.name}")  # the live decoder publishes it
        decoder = model_id_of_file(bundle / DECODER_ONNX)
        files[bundle.name] = sorted(p.name for p in published.glob(f"{decoder}.*"))
        assert f"{decoder}.onnx.gz" in files[bundle.name]
    for bundle in (own, twin):
        alice = visit(ALICE, model=f"user/{bundle.name}")
        next(b for b in alice.button if b.label == "Delete").click().run()
        assert not bundle.exists()
    left = sorted(p.name for p in published.iterdir())
    assert not set(files[own.name]) & set(left)  # its decoder and its pad's points: gone at once
    assert set(files[twin.name]) <= set(left)  # the shipped default still has that decoder
