"""Directions: make a latent direction from two groups or an attribute of every test image, and save it."""

from explorer import models
from explorer.sections import directions as directions_sections

handle = models.current()
directions_sections.intro(handle)  # also takes the link's ?dirs= into this session
candidate = directions_sections.make(handle)  # two labels, two map boxes, two sets of images, an attribute
directions_sections.save_form(handle, candidate)
directions_sections.arrows(handle, candidate)  # saved ones and the new one, from the data mean
directions_sections.saved_list(handle)
