"""Class: the teachers' view of the whole class (in the menu for teachers only; it checks again itself)."""

import streamlit as st

from explorer import icons, training
from explorer.sections import teacher as teacher_sections

st.title(icons.title("teacher", "Class"))
if teacher_sections.allowed():
    runner = training.runner()
    everyone = runner.list()  # every job on the server, read once for the three sections below
    teacher_sections.queue(runner, everyone)
    teacher_sections.usage_table(runner, everyone)
    teacher_sections.jobs(runner, everyone)
    teacher_sections.model_list()
    teacher_sections.dataset_list()
