"""How it works: the encoder head, z_mean / z_log_var / epsilon, explained with this model's live numbers."""

from __future__ import annotations

import streamlit as st

from explorer import icons, models
from explorer.sections import how_it_works as how_it_works_sections
from explorer.sections import how_questions as how_questions_sections

st.title(icons.title("how_it_works", "How it works: the encoder's two heads"))
handle = models.current()
digits = how_it_works_sections.real_digits(handle)  # the test split if it is here, else the bundle's gallery

how_it_works_sections.the_question()
facts = how_it_works_sections.facts_of(handle.served)  # β and the stages: one source, looked up once
how_it_works_sections.glossary(facts)  # the loss with this model's β

st.header("This input, live")
x, desc = how_it_works_sections.pick_input(handle, digits, "a", st.container())
enc = how_it_works_sections.encode(handle.served, x)
how_it_works_sections.head_beside_live_numbers(handle, x, desc, enc)
how_it_works_sections.what_you_expected(x, enc)
how_it_works_sections.batch_shapes(handle)

samples, magnify = how_it_works_sections.the_cloud(handle, enc)
how_it_works_sections.move_z(handle, enc.z_mean)
how_it_works_sections.kl_per_dimension(enc, facts)

st.header("Follow-up questions")
this = how_it_works_sections.Input(handle, x, enc, samples, magnify)
ask = how_questions_sections.question
ask("Why a log-variance, rather than a variance or a std?", "how_q_log_var",
    how_questions_sections.why_log_variance, this, expanded=True)
ask("Why the 0.5 in exp(0.5 · z_log_var)?", "how_q_half", how_questions_sections.why_half, this)
ask("What is ε really for?", "how_q_epsilon", how_questions_sections.what_epsilon_is_for, this)
ask("What makes the two heads become a mean and a spread?", "how_q_heads",
    how_questions_sections.what_makes_the_heads, this)
ask(how_questions_sections.collapse_question(facts.beta), "how_q_collapse",
    how_questions_sections.why_no_collapse, this)

how_it_works_sections.two_inputs(handle, digits, this, desc)
