"""Class: the teachers' view of the whole class (in the menu for teachers only; it checks again itself)."""

import streamlit as st

from explorer import icons, training
from explorer.sections import teacher as teacher_sections

st.title(icons.title("teacher", "Class"))
if teacher_sections.allowed():
    runner = training.runner()
    teacher_sections.queue(runner)
    teacher_sections.usage_table(runner)
    teacher_sections.jobs(runner)
    teacher_sections.model_list()
