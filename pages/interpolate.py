"""Interpolate: walk between two inputs' codes (or a direction's ends), see the path and its decodes."""

from explorer import models
from explorer.sections import interpolate as interpolate_sections

handle = models.current()
interpolate_sections.intro(handle)
ends = interpolate_sections.endpoints(handle)  # two test images, uploads, drawings, map points; a direction
kind, steps = interpolate_sections.path_controls()  # linear or spherical, how many steps
if ends is not None:
    zs = interpolate_sections.strip(handle, ends, kind, steps)  # decodes, PNG and GIF
    interpolate_sections.path_map(handle, zs)
