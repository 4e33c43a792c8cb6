"""Compare: two models side by side on the same test digits, the same inputs and the same prior draws."""

from explorer import models
from explorer.sections import compare as compare_sections
from explorer.sections import interpolate as interpolate_sections

compare_sections.intro()
left, right = compare_sections.pick_models(models.current())  # each other model: its own handle, once
compare_sections.what_differs(left, right)  # the recipes, and what differs besides β
compare_sections.metrics(left, right)
compare_sections.maps(left, right)
compare_sections.reconstructions(left, right)
compare_sections.prior_draws(left, right)
interpolate_sections.compare_pair(left, right)  # the same two inputs interpolated by both models
