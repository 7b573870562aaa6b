"""Check the CHANGELOG.rst that ``antsibull-changelog release`` produced (in a scratch copy).

Usage: python check_changelog.py CHANGELOG.rst VERSION

Fails, listing every finding, when the release of VERSION has no Release Summary, when an entry appears
twice, when a fragment announces a new module, plugin or role (antsibull-changelog lists those itself
from ``version_added``: the fragment line would be a duplicate), or when an entry outside the trivial
section is about test tooling (emulator, ansible-test, end-to-end tests, ...): those belong in ``trivial``.
"""

from __future__ import annotations

import re
import sys

# Words that mark an entry as being about the project's test tooling rather than the collection.
TEST_TOOLING = re.compile(
    r"emulator|end-to-end|\be2e\b|ansible-test|\btests?/|benchmark|actionlint|``make (test|demo|lint|sanity|units)``"
    r"|\bunit tests?\b|\bintegration (tests?|targets?)\b|\bsanity tests?\b", re.IGNORECASE)
# A fragment line announcing a new object: "name - new module ...", "x, y - new filters ...".
NEW_OBJECT = re.compile(r"^[\w., ]+ - new (module|role|lookup|filter|inventory|plugin|test)s?\b", re.IGNORECASE)
GENERATED = re.compile(r"^New (Modules|Plugins|Roles|Playbooks)$")


def parse(text: str, version: str) -> dict[str, list[str]]:
    """Sections (title -> bullet texts) of one release, generated subsections folded into their section."""
    lines = text.splitlines()
    try:
        start = lines.index(f"v{version}")
    except ValueError:
        raise SystemExit(f"CHANGELOG.rst has no release v{version}")
    sections: dict[str, list[str]] = {}
    current = None
    index = start + 2
    while index < len(lines):
        line = lines[index]
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if underline and set(underline) == {"="} and len(underline) >= len(line) > 0:
            break  # the next release
        if underline and set(underline) == {"-"} and len(underline) >= len(line) > 0:
            current = line
            sections.setdefault(current, [])
            index += 2
            continue
        if line.startswith("- ") and current:
            sections[current].append(line[2:].strip())
        elif line.startswith("  ") and current and sections[current]:
            sections[current][-1] += " " + line.strip()
        elif line.strip() and current == "Release Summary" and not (underline and set(underline) == {"~"}):
            sections[current].append(line.strip())
        index += 1
    return sections


def main() -> int:
    path, version = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as handle:
        sections = parse(handle.read(), version)
    problems = []
    if not sections.get("Release Summary"):
        problems.append(f"v{version} has no Release Summary (a release_summary fragment)")
    seen: dict[str, str] = {}
    generated_names = set()
    for title, entries in sections.items():
        if GENERATED.match(title):
            generated_names.update(entry.split(" - ", 1)[0].strip() for entry in entries)
    for title, entries in sections.items():
        for entry in entries:
            key = re.sub(r"\s+", " ", entry).strip().lower()
            if key in seen:
                problems.append(f"duplicated entry in {seen[key]!r} and {title!r}: {entry[:100]}")
            seen[key] = title
            if GENERATED.match(title) or title == "Release Summary":
                continue
            if NEW_OBJECT.match(entry):
                problems.append(f"{title}: announces a new object antsibull-changelog already lists "
                                f"from version_added (remove it from the fragment): {entry[:100]}")
            if TEST_TOOLING.search(entry):
                problems.append(f"{title}: about test tooling (mark it trivial): {entry[:100]}")
    if not generated_names:
        problems.append("no New Modules/Plugins/Roles section: was ansible-doc reachable for antsibull-changelog?")
    for problem in problems:
        print(f"CHANGELOG.rst: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"CHANGELOG.rst v{version}: release summary, {sum(map(len, sections.values()))} entries, "
          f"{len(generated_names)} generated new objects, no duplicate, no test tooling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
