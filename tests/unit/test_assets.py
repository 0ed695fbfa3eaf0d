"""The logo and favicon the UI and the emails link to are in assets/, which Reflex serves at the site root."""

import pytest

from postboard import names
from postboard.settings import ROOT

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("path", "starts"), [(names.LOGO_PNG, PNG), ("/favicon.ico", b"\x00\x00\x01\x00")])
def test_image_assets_exist_and_are_what_they_say(path: str, starts: bytes) -> None:
    assert (ROOT / "assets" / path.lstrip("/")).read_bytes().startswith(starts)


def test_the_svg_logo_is_an_svg_with_no_script() -> None:
    svg = (ROOT / "assets" / names.LOGO_SVG.lstrip("/")).read_text()
    assert svg.startswith("<svg ")
    assert "<script" not in svg
