"""The teacher's view (pages/teacher.py, "Class"), in AppTest with a faked st.user: a teacher and two students
in class mode. The teacher sees every job, model and image dataset with its owner and the usage, stops,
removes, deletes, publishes, shares and pauses; the students see none of it."""

from __future__ import annotations

import json

import pytest

import settings
from explorer import keeper
from jobservice import JobSpec, datasets, user_models
from tests.support import class_server
from tests.support.class_server import ALICE, AUTH, BOB, job, owned_model, signed_in, texts, user_owner

TEACHER = "teacher-token-0123456789"  # each person's browser (cookie); the login makes the owner


@pytest.fixture()
def school(server, monkeypatch, tmp_path):
    """The server with one teacher named by owner id; each test's people noted afresh, its own datasets."""
    monkeypatch.setenv("VAE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VAE_TEACHERS", user_owner("teacher"))
    keeper._SEEN.clear()  # names are noted at most once an hour per process
    return server


def visit(token: str, user: dict, page: str | None = None):
    return class_server.visit(token, page, user=user, secrets=AUTH)


def menu(at) -> list[str]:
    return [link.proto.label for link in at.sidebar.get("page_link")]


def class_page(token: str = TEACHER, user: dict | None = None):
    return visit(token, user or signed_in("teacher"), "pages/teacher.py")


def test_only_teachers_have_the_class_page(school):
    assert "Class" in menu(visit(TEACHER, signed_in("teacher")))
    for token, who in ((ALICE, "alice"), (BOB, "bob")):
        at = visit(token, signed_in(who))
        assert "Class" not in menu(at)
        with pytest.raises(ValueError, match="Could not find a navigation page"):  # not even registered
            at.switch_page("pages/teacher.py")
    # A cookie that happens to hash to a listed id is nobody: only a signed-in identity teaches.
    anonymous = visit(TEACHER, {"is_logged_in": False})
    assert "Class" not in menu(anonymous)


def test_a_group_claim_makes_a_teacher(school, monkeypatch):
    monkeypatch.setenv("VAE_TEACHERS", "")
    monkeypatch.setenv("VAE_TEACHER_GROUP", "ml-teachers")
    assert "Class" in menu(visit(TEACHER, signed_in("carol", groups=["staff", "ml-teachers"])))
    assert "Class" not in menu(visit(ALICE, signed_in("alice", groups=["students"])))


def test_the_teacher_sees_every_job_and_model_with_its_owner_and_the_usage(school):
    visit(ALICE, signed_in("alice"))  # each student signs in once: their name is noted
    visit(BOB, signed_in("bob"))
    school.start(JobSpec(dataset="mnist", preset="default", latent_dim=2, beta=1.0, epochs=10,
                         name="alice's digits"), owner=user_owner("alice"))  # 600,000 image passes
    school.start(job("bob's digits"), owner=user_owner("bob"))
    owned_model(school, user_owner("bob"), "bobs-abc123", "Bob's first model")
    at = class_page()
    shown = texts(at).replace("\u2060", "").replace("\\", "")  # as read: no word joiners, no escapes
    for text in ("alice's digits", "bob's digits", "Bob's first model", "Alice · alice@school.example",
                 "Bob · bob@school.example"):
        assert text in shown, text
    table = at.dataframe[0].value
    alice = next(row for name, row in table.iterrows() if name.startswith("Alice"))
    bob = next(row for name, row in table.iterrows() if name.startswith("Bob"))
    assert (alice["Jobs under way"], bob["Jobs under way"], bob["Models"]) == (1, 1, 1)
    assert alice["CPU-hours queued"] == 0.4 and bob["Disk (MB)"] > 1  # at 2.4 ms per image pass
    assert table.loc["Whole server", "Jobs under way"] == 2
    # A student's Train page: their own job only, no one else's, no usage.
    student = visit(ALICE, signed_in("alice"), "pages/train.py")
    assert "alice's digits" in texts(student) and "bob's digits" not in texts(student)
    assert not student.get("dataframe")


def test_the_teacher_stops_removes_deletes_and_publishes_anyones(school):
    alice_job = school.start(job("alice's digits"), owner=user_owner("alice"))
    model = owned_model(school, user_owner("alice"), "alices-abc123", "Alice's model")
    other = owned_model(school, user_owner("bob"), "bobs-abc123", "Bob's model")
    at = class_page()
    at.button(key=f"class-stop-{alice_job}").click().run()
    assert not at.exception and school.status(alice_job).state == "stopped"
    at.button(key=f"class-remove-{alice_job}").click().run()
    assert [j.id for j in school.list()] == []
    # Published: Bob lists Alice's model; Alice cannot withdraw it herself.
    assert "Alice's model (shared)" not in visit(BOB, signed_in("bob")).selectbox(key="home_model").options
    at.toggle(key="class-publish-alices-abc123").set_value(True).run()
    assert not at.exception, at.exception
    assert "Alice's model (published)" in visit(BOB, signed_in("bob")).selectbox(key="home_model").options
    mine = class_server.visit(ALICE, model="user/alices-abc123", user=signed_in("alice"), secrets=AUTH)
    assert mine.toggle(key="share-user/alices-abc123").disabled
    at.button(key="class-delete-bobs-abc123").click().run()
    assert not other.exists() and model.exists()


def test_a_disk_error_names_no_path(school, monkeypatch, capsys):
    """The page once showed an OSError's text ("[Errno 13] Permission denied: '/srv/…/models/…'"): the
    teacher reads one sentence, the server's log the details."""
    from jobservice import user_models

    stuck = owned_model(school, user_owner("bob"), "bobs-abc123", "Bob's model")

    def refuse(bundle):
        raise PermissionError(13, "Permission denied", str(bundle))

    monkeypatch.setattr(user_models, "remove", refuse)
    at = class_page()
    at.button(key="class-delete-bobs-abc123").click().run()
    assert [e.value for e in at.error] == ["The server could not change its files to do that; the server's "
                                           "log says why."]
    assert str(stuck) not in texts(at) and str(stuck) in capsys.readouterr().err


def test_the_teacher_pauses_and_resumes_the_queue(school):
    at = class_page()
    at.button(key="class_pause").click().run()
    assert school.paused() is not None
    assert "Your teacher has paused the queue" in texts(visit(ALICE, signed_in("alice"), "pages/train.py"))
    at = class_page()
    assert "The queue is paused" in texts(at)
    at.button(key="class_resume").click().run()
    assert school.paused() is None


def test_a_student_cannot_take_a_teachers_action(school):
    """The page's actions check again: a student's session running the same code is refused."""
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from explorer import teachers

        try:
            teachers.require()
            st.write("allowed")
        except teachers.NotATeacher as exc:
            st.error(str(exc))

    at = AppTest.from_function(script)
    at.user, at.secrets = signed_in("alice"), AUTH
    at.run()
    assert [e.value for e in at.error] == ["Only a teacher can do this."]


def test_limits_follow_the_signed_in_user_not_the_cookie(school):
    """The probe's ten fresh browsers each got fresh limits. Signed in, four browsers of one student are one
    owner: the fourth job is refused whichever browser sends it."""
    for n in range(4):
        at = visit(f"fresh-browser-{n:02d}-0123456789", signed_in("alice"), "pages/train.py")
        at.selectbox[0].select("digits")
        at.text_input[0].input(f"job {n}")
        next(b for b in at.get("form_submit_button") if b.label == "Start training").click().run()
    assert [j.owner for j in school.list()] == [user_owner("alice")] * 3
    assert "You already have 3 jobs queued or running" in " ".join(e.value for e in at.error)


def owned_dataset(owner_id: str, dataset_id: str, title: str, images: int, mib: int, shared: bool = False):
    """A prepared dataset of this owner's as the dataset job leaves one: dataset.json, its arrays (`mib` MiB
    of them here), access.json."""
    folder = settings.datasets_dir() / dataset_id
    folder.mkdir(parents=True)
    test = images // 6
    (folder / "dataset.json").write_text(json.dumps({"title": title, "labels": ["a", "b"],
                                                     "n_train": images - test, "n_test": test}))
    (folder / "data.npz").write_bytes(b"\0" * mib * 2**20)
    if owner_id == user_models.SERVER:
        user_models.set_server_owned(folder)
    else:
        user_models.set_owner(folder, owner_id)
    if shared:
        datasets.set_shared(folder, owner_id, True)
    return folder


def test_the_teacher_sees_every_dataset_with_its_owner_images_size_and_the_usage(school):
    visit(ALICE, signed_in("alice"))
    visit(BOB, signed_in("bob"))
    owned_dataset(user_owner("alice"), "alices-leaves", "Alice's leaves", 120, 3)
    owned_dataset(user_owner("bob"), "bobs-sprites", "Bob's sprites", 60, 2, shared=True)
    owned_dataset(user_models.SERVER, "server-letters", "Letters", 600, 1)
    at = class_page()
    assert not at.exception, at.exception
    shown = texts(at).replace("\u2060", "").replace("\\", "")
    for text in ("**Alice's leaves** · private · 120 images, 3 MB",
                 "**Bob's sprites** · shared by its owner · 60 images, 2 MB",
                 "**Letters** · the server's, for everyone · 600 images, 1 MB",
                 "Alice · alice@school.example", "Bob · bob@school.example", "the server",
                 "image datasets 6 MB"):
        assert text in shown, text
    table = at.dataframe[0].value
    alice = next(row for name, row in table.iterrows() if name.startswith("Alice"))
    bob = next(row for name, row in table.iterrows() if name.startswith("Bob"))
    assert (alice["Datasets"], bob["Datasets"], table.loc["Whole server", "Datasets"]) == (1, 1, 3)
    assert (alice["Datasets (MB)"], bob["Datasets (MB)"]) == (3.0, 2.0)
    assert alice["Disk (MB)"] >= 3.0 and table.loc["Whole server", "Datasets (MB)"] == 6.0
    # The server's own are everyone's already: nothing to share, but the teacher may delete them.
    assert not at.get("toggle") or all(t.key != "class-share-dataset-server-letters" for t in at.toggle)
    assert at.button(key="class-delete-dataset-server-letters")


def test_the_teacher_shares_withdraws_and_deletes_anyones_dataset(school):
    alices = owned_dataset(user_owner("alice"), "alices-leaves", "Alice's leaves", 120, 1)
    bobs = owned_dataset(user_owner("bob"), "bobs-sprites", "Bob's sprites", 60, 1)
    assert "alices-leaves" not in [d.id for d in datasets.visible(user_owner("bob"))]
    at = class_page()
    at.toggle(key="class-share-dataset-alices-leaves").set_value(True).run()
    assert not at.exception, at.exception
    assert "alices-leaves" in [d.id for d in datasets.visible(user_owner("bob"))]
    assert "**Alice's leaves** · shared by you" in texts(at).replace("\\", "")
    # Alice cannot withdraw what her teacher shared: her card's switch is off limits.
    mine = visit(ALICE, signed_in("alice"), "pages/train.py")
    assert mine.toggle(key="share-dataset-alices-leaves").disabled
    at.toggle(key="class-share-dataset-alices-leaves").set_value(False).run()
    assert "alices-leaves" not in [d.id for d in datasets.visible(user_owner("bob"))]
    at.button(key="class-delete-dataset-bobs-sprites").click().run()
    assert not at.exception, at.exception
    assert not bobs.exists() and alices.exists()
    assert "Bob's sprites" not in texts(at)
