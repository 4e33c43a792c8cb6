"""axe-core in a Playwright page: WCAG 2.1 A/AA rules in the page and each iframe (tests/e2e/axe pins it)."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "tests" / "e2e" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# The rules a page must pass; the others are printed, not failed.
MUST_PASS = ("image-alt", "color-contrast")
RUN_AXE = """() => axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    iframes: false, resultTypes: ['violations']})
  .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                              summary: (n.failureSummary || '').slice(0, 240)}))})))"""


def frame_violations(frame, axe_source: str) -> list[dict]:
    """axe's violations in one frame (its own document only: each iframe is checked as a frame of its own)."""
    if not frame.evaluate("() => typeof window.axe !== 'undefined'"):
        frame.evaluate(axe_source)
    return frame.evaluate(RUN_AXE)


def check_with_axe(page, axe_source: str, title: str) -> None:
    """Run axe in the page and in each of its iframes; fail on MUST_PASS rules, print the others."""
    found: dict[str, list[dict]] = {}
    for frame in page.frames:
        if frame.url in ("", "about:blank") and frame is not page.main_frame:
            continue
        where = "page" if frame is page.main_frame else f"iframe {frame.name or frame.url[:80]}"
        for violation in frame_violations(frame, axe_source):
            found.setdefault(violation["id"], []).extend({**n, "frame": where} for n in violation["nodes"])
    others = {rule: nodes for rule, nodes in found.items() if rule not in MUST_PASS}
    if others:  # reported, not failed: the issue asks for these two rules
        print(f"\n{title}: other axe violations:\n" + json.dumps(others, indent=1, ensure_ascii=False)[:6000])
    bad = {rule: nodes for rule, nodes in found.items() if rule in MUST_PASS}
    assert not bad, f"{title}: " + "; ".join(f"{len(n)} {rule}" for rule, n in bad.items()) + "\n" + \
        json.dumps(bad, indent=1, ensure_ascii=False)[:8000]
