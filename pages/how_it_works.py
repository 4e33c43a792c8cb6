"""How it works: the encoder head, z_mean / z_log_var / epsilon, explained with this model's live numbers."""

from __future__ import annotations

import streamlit as st

from explorer import models
from explorer.sections import how_it_works as how

st.title("How it works: the encoder's two heads")
model = models.current_model()
path = models.current_model_path()
digits = how.real_digits(model)  # the test split if it is here, else the bundle's gallery

how.the_question()

st.header("This input, live")
x, desc = how.pick_input(model, digits, "a", st.container())
enc = how.encode(model, x)
how.head_beside_live_numbers(model, x, desc, enc)
how.what_you_expected(x, enc)
how.batch_shapes(model)

samples, magnify = how.the_cloud(model, path, enc)
how.move_z(model, path, enc.z_mean)
how.kl_per_dimension(enc)

st.header("Follow-up questions")
this = how.Input(model, x, enc, samples, magnify)
how.question("Why a log-variance, rather than a variance or a std?", "how_q_log_var",
             how.why_log_variance, this, expanded=True)
how.question("Why the 0.5 in exp(0.5 · z_log_var)?", "how_q_half", how.why_half, this)
how.question("What is ε really for?", "how_q_epsilon", how.what_epsilon_is_for, this)
how.question("What makes the two heads become a mean and a spread?", "how_q_heads", how.what_makes_the_heads,
             this)
how.question("Why doesn't z_std collapse to zero? Reconstruction against KL", "how_q_collapse",
             how.why_no_collapse, this)

how.two_inputs(model, path, digits, this, desc)
