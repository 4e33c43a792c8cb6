"""The app's icons: Streamlit's bundled Material Symbols (an emoji is an empty box without an emoji font)."""

APP = ":material/explore:"
# Each page's icon, for the menu (app.py) and the page's title; keyed by the page file's name.
PAGES = {
    "home": ":material/home:",
    "latent_map": ":material/scatter_plot:",
    "decoder": ":material/tune:",
    "encode": ":material/draw:",
    "train": ":material/model_training:",
    "import_model": ":material/upload_file:",
    "how_it_works": ":material/lightbulb:",
    "compare": ":material/compare:",
    "directions": ":material/north_east:",
    "interpolate": ":material/timeline:",
    "teacher": ":material/school:",  # the Class page, teachers only
}
DOWNLOAD = ":material/download:"
PLAY = ":material/play_circle:"
RANDOM = ":material/casino:"
RESET = ":material/restart_alt:"
WARNING = ":material/warning:"
LOCK = ":material/lock:"
PAUSE = ":material/pause_circle:"


def title(page: str, text: str) -> str:
    """A page's title with its menu icon in front: Markdown that st.title draws as the icon."""
    return f"{PAGES[page]} {text}"
