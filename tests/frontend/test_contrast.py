"""Colour contrast of the live page's band badges and stale cards, computed from app.css (WCAG 2 AA: 4.5:1 for text).

The browser check (tests/integration/test_accessibility.py) sees only the bands a live class happens to show;
this one covers every band and the stale look, from the stylesheet itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

APP_CSS = Path(settings.BASE_DIR) / "frontend" / "static" / "frontend" / "app.css"
AA_TEXT = 4.5
BANDS = ("engaged", "partly", "not-engaged", "absent", "present")


def css() -> str:
    return APP_CSS.read_text()


def variables() -> dict[str, str]:
    """The custom properties of ``:root``, by name without the dashes."""
    root = re.search(r":root\s*\{(?P<body>[^}]*)\}", css())
    assert root is not None
    body = re.sub(r"/\*.*?\*/", "", root["body"], flags=re.S)
    return {name: value.lower() for name, value in re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", body)}


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_gives_the_known_ratios() -> None:
    assert contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast("#ffffff", "#2a9d8f") == pytest.approx(3.32, abs=0.01)  # the old "engaged" badge, under AA


@pytest.mark.parametrize("band", BANDS)
def test_every_band_badge_reads_white_on_its_colour_at_aa(band: str) -> None:
    assert re.search(r"\.band \{[^}]*color: #fff;", css()), "badge text is no longer white: check this test's pairs"
    assert contrast("#ffffff", variables()[band]) >= AA_TEXT


def test_a_stale_card_is_not_faded_with_opacity_and_its_text_stays_at_aa() -> None:
    stale_rules = re.findall(r"\.participant-card\[data-stale=true\][^{]*\{([^}]*)\}", css())
    assert stale_rules and not any("opacity" in rule for rule in stale_rules)
    colours = variables()
    background = colours["stale-bg"]
    stale_label = re.search(r"\.participant-card \.stale \{[^}]*color: (#[0-9a-fA-F]{6})", css())
    assert stale_label is not None
    for name, text in {"text": colours["text"], "muted": colours["muted"], "link": colours["accent"], "stale": stale_label[1]}.items():
        assert contrast(text, background) >= AA_TEXT, name


def test_the_warning_look_reads_at_aa_and_the_live_pages_sampling_note_wears_it() -> None:
    warning = re.search(r"\.warning \{[^}]*color: (#[0-9a-fA-F]{6});[^}]*background: (#[0-9a-fA-F]{6})", css())
    assert warning is not None
    assert contrast(warning[1], warning[2]) >= AA_TEXT
    template = (Path(settings.BASE_DIR) / "frontend" / "templates" / "frontend" / "session_live.html").read_text()
    note = re.search(r'<p class="([^"]*)" id="sampling-note"', template)
    assert note is not None and "warning" in note[1].split()
    assert not re.search(r"\.sampling-note \{[^}]*(?:color|background|opacity)", css())  # nothing overrides the look
