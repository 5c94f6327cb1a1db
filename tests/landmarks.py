"""The landmarks of a page (what a screen reader lists to move around it), read from its HTML.

Two landmarks of the same kind with the same name cannot be told apart (axe's rule « landmark-unique »):
`duplicate_landmarks(html)` lists them. Kinds follow the elements' implicit roles (nav → navigation,
a named section → region, …) or their `role`; names come from `aria-label`, else from the text of the
elements `aria-labelledby` points to.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

_IMPLICIT = {"nav": "navigation", "main": "main", "aside": "complementary", "section": "region", "form": "form"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_LANDMARKS = {"banner", "complementary", "contentinfo", "form", "main", "navigation", "region", "search"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, list[str]] = {}
        self.open_ids: list[tuple[str, str | None]] = []  # (tag, id) of the open elements
        self.landmarks: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        role = attrs.get("role") or _IMPLICIT.get(tag)
        if role in _LANDMARKS:
            self.landmarks.append((role, attrs))
        if tag in _VOID:
            return
        element_id = attrs.get("id")
        if element_id:
            self.texts.setdefault(element_id, [])
        self.open_ids.append((tag, element_id))

    def handle_endtag(self, tag):
        for index in range(len(self.open_ids) - 1, -1, -1):
            if self.open_ids[index][0] == tag:
                del self.open_ids[index:]
                return

    def handle_data(self, data):
        for _tag, element_id in self.open_ids:
            if element_id:
                self.texts[element_id].append(data)


def landmark_names(html: str) -> list[tuple[str, str]]:
    """(kind, accessible name) of every landmark of the page ("" when it has no name)."""
    page = _Page()
    page.feed(html)
    found = []
    for role, attrs in page.landmarks:
        name = attrs.get("aria-label", "")
        if not name and attrs.get("aria-labelledby"):
            name = " ".join("".join(page.texts.get(i, [])) for i in attrs["aria-labelledby"].split())
        name = re.sub(r"\s+", " ", name).strip()
        if role in ("region", "form") and not name and not attrs.get("role"):
            continue  # a section or a form without a name is not a landmark
        found.append((role, name))
    return found


def duplicate_landmarks(html: str) -> list[tuple[str, str]]:
    """Landmarks that share their kind and their name with another one of the page."""
    counts = Counter(landmark_names(html))
    return [landmark for landmark, count in counts.items() if count > 1]
