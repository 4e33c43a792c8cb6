"""The README stays a short guide whose links resolve and whose two commands are the ones CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
CI = REPO / ".ci" / "run"
DOCS = sorted((REPO / "docs").glob("*.md"))
MAX_LINES = 120
MOVED_TO_DOCS = ("class_server.md", "scaling.md", "cli.md", "benchmarks.md", "models.md")

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# A pytest call up to a shell operator; quoted marker expressions (-m "not e2e and …") stay whole.
PYTEST = re.compile(r"python -m pytest(?:[^|;&\n\"']|\"[^\"]*\"|'[^']*')*")


def prose(text: str) -> str:
    """The Markdown outside fenced blocks and inline code, where links and headings live."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return out


def links(path: Path) -> list[tuple[str, str, str]]:
    """(bang, text, target) of every Markdown link and image in a file."""
    return LINK.findall(prose(path.read_text()))


def shell_blocks(text: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang in ("bash", "sh", "shell", "")]


def code_lines(script: str) -> list[str]:
    """A shell script's lines without comments (a '#' starting a word) or blank lines."""
    lines = []
    for line in script.splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if line:
            lines.append(line)
    return lines


def pytest_calls(script: str) -> list[str]:
    return [" ".join(shlex.split(m.group(0))) for line in code_lines(script) for m in PYTEST.finditer(line)]


def pip_requirements(script: str) -> list[set[str]]:
    """The requirement files of each `pip install` in a script."""
    found = []
    for line in code_lines(script):
        for call in re.findall(r"pip install([^|;&\n]*)", line):
            words = shlex.split(call)
            found.append({words[i + 1] for i, w in enumerate(words[:-1]) if w == "-r"})
    return found


def apt_packages(script: str) -> set[str]:
    packages = set()
    for line in code_lines(script):
        for call in re.findall(r"apt-get install([^|;&\n]*)", line):
            packages |= {w for w in shlex.split(call) if not w.startswith("-")}
    return packages


def readme_commands() -> tuple[str, str]:
    """The README's install block and its test block: the first shell blocks with `pip install` and with
    `python -m pytest`."""
    blocks = shell_blocks(README.read_text())
    install = next((b for b in blocks if "pip install" in b), None)
    tests = next((b for b in blocks if "python -m pytest" in b), None)
    assert install and tests, "the README shows no install block or no test block"
    return install, tests


def test_readme_is_a_short_guide():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; at most {MAX_LINES}, the rest in docs"


def test_readme_links_the_docs_its_sections_moved_to():
    targets = {target.split("#")[0] for _, _, target in links(README)}
    missing = [name for name in MOVED_TO_DOCS if f"docs/{name}" not in targets]
    assert not missing, f"README.md does not link {missing}"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(path: Path):
    broken = []
    for _bang, _text, target in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: … are not ours to check
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{path.name}: broken links: {broken}"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(REPO).as_posix())
def test_images_have_alt_text(path: Path):
    bare = [target for bang, text, target in links(path) if bang and not text.strip()]
    assert not bare, f"{path.name}: images without alt text: {bare}"


def test_readme_test_command_is_what_ci_runs():
    _, tests = readme_commands()
    ci = CI.read_text()
    assert pytest_calls(ci), ".ci/run runs no pytest"
    assert pytest_calls(tests) == pytest_calls(ci)


def test_readme_install_is_what_ci_installs():
    install, _ = readme_commands()
    ci, readme = CI.read_text(), README.read_text()
    (readme_files,) = pip_requirements(install)
    ci_files = set().union(*pip_requirements(ci))
    assert readme_files and readme_files <= ci_files, f"README installs {readme_files}, CI only {ci_files}"
    # What CI installs beyond the README's install must at least be named in the README; Python itself (a
    # bare Debian's python3 and its venv) is the README's "virtual environment with Python 3.11".
    system = sorted(p for p in apt_packages(ci) if not p.startswith("python"))
    for extra in sorted(ci_files - readme_files) + system:
        assert extra in readme, f".ci/run installs {extra}; the README does not say so"


def test_the_parsers_read_what_ci_will_run():
    """The fast-lane form (.ci/run running two pytest calls in one job) parses as two commands."""
    script = ('status=0\npython -m pytest -m "not e2e and not slow and not ray" || status=1  # fast lane\n'
              "python -m pytest -m 'e2e or slow or ray' || status=1\nexit $status\n")
    assert pytest_calls(script) == ["python -m pytest -m not e2e and not slow and not ray",
                                    "python -m pytest -m e2e or slow or ray"]
    assert pip_requirements("pip install -r a.txt -r b.txt && streamlit run app.py") == [{"a.txt", "b.txt"}]
    assert apt_packages("apt-get install -y chromium nginx # browsers\n") == {"chromium", "nginx"}
