"""Compare: two models side by side on the same test digits, the same inputs and the same prior draws."""

from explorer.sections import compare as section

section.intro()
left, right = section.pick_models()
section.metrics(left, right)
section.maps(left, right)
section.reconstructions(left, right)
section.prior_draws(left, right)
