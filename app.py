"""Latent Explorer: the Streamlit entry point; declares the pages and the shared sidebar."""

from pathlib import Path

import streamlit as st

from explorer import icons

st.set_page_config(page_title="Latent Explorer", page_icon=icons.APP, layout="wide")

PAGES = [  # (file, title); each page's icon is explorer.icons.PAGES[its file's name]
    ("pages/home.py", "Home"),
    ("pages/latent_map.py", "Latent map"),
    ("pages/decoder.py", "Decoder"),
    ("pages/encode.py", "Encode"),
    ("pages/train.py", "Train"),
    ("pages/import_model.py", "Import"),
    ("pages/how_it_works.py", "How it works"),
    ("pages/compare.py", "Compare"),
    ("pages/directions.py", "Directions"),
    ("pages/interpolate.py", "Interpolate"),
]
TEACHER_PAGE = ("pages/teacher.py", "Class")  # teachers only: anyone else has no such page
HERE = Path(__file__).resolve().parent

from explorer import teachers  # noqa: E402  (light: no model, no Plotly)

# A page file that is not there (yet) is left out rather than breaking the whole app.
shown = PAGES + ([TEACHER_PAGE] if teachers.is_teacher() else [])
pages = [st.Page(f, title=t, icon=icons.PAGES[Path(f).stem], default=(f == "pages/home.py"))
         for f, t in shown if (HERE / f).is_file()]
# The app draws its own menu. Streamlit's, shown where this config leaves it on, first lists the pages/
# folder's file names ("app", "latent map", …) until this script's first run reaches the browser; the
# config turns it off (client.showSidebarNavigation), and with it st.navigation's, hence position="hidden".
nav = st.navigation(pages, position="hidden")
with st.sidebar:
    for page in pages:
        st.page_link(page, label=page.title, icon=page.icon)
    st.divider()

from explorer import heap, keeper, models, upload_cap, visitors, widgets  # noqa: E402  (after the menu: slow)

heap.freeze_imports()  # the imports of earlier runs, out of the garbage collector's way
keeper.start()
upload_cap.cap_session_uploads()  # what one session's uploads may hold in this process's memory
# The idle clean-up keeps a visitor's models a while; a signed-in user's name is noted for the teachers.
keeper.note_visit(visitors.remember_visitor(), teachers.shown_name())
with models.held_for_run() as handle:  # the current model, resolved once: every page takes it from here
    model = handle.served
    st.sidebar.caption(f"Model: **{models.display_name(model)}** — latent_dim {model.latent_dim}")
    visitors.login_controls()
    widgets.remember_pixel_ratio()
    models.show_model_notice()
    nav.run()
