"""The icons: one source, every generated file up to date, four states that differ in shape and
colour."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from companion.tray import icons
from companion.tray.status import IconState

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def mask(image: Image.Image) -> set[tuple[int, int]]:
    alpha = image.getchannel("A")
    width, height = image.size
    return {(x, y) for y in range(height) for x in range(width) if alpha.getpixel((x, y)) > 128}


def test_generated_icons_match_the_source(tmp_path: Path) -> None:
    packaged = tmp_path / "icon.png"
    written = icons.write_assets(ASSETS / icons.SOURCE_NAME, tmp_path, packaged)
    assert len(written) == len(icons.PNG_SIZES) + 3 + len(IconState)
    packaged_names = {packaged.name} | {icons.state_icon_path(s).name for s in IconState}
    for path in written:
        in_package = path.name in packaged_names
        committed = icons.PACKAGED_ICON.with_name(path.name) if in_package else ASSETS / path.name
        assert committed.is_file(), f"{committed} is missing: run python -m companion.tray.icons"
        with Image.open(path) as fresh, Image.open(committed) as kept:
            assert fresh.size == kept.size
            diff = ImageChops.difference(fresh.convert("RGBA"), kept.convert("RGBA"))
            assert diff.getbbox() is None, f"{committed} is out of date with the source"


def test_os_icon_files_hold_the_sizes_each_os_needs() -> None:
    with Image.open(ASSETS / "companion.ico") as ico:
        assert {16, 32, 48, 256} <= {w for w, _ in ico.info["sizes"]}
    with Image.open(ASSETS / "companion.icns") as icns:
        assert {(16, 16, 2), (32, 32, 2), (512, 512, 1)} <= set(icns.info["sizes"])
    for size in icons.PNG_SIZES:
        with Image.open(ASSETS / f"icon-{size}.png") as png:
            assert png.size == (size, size)


def test_source_must_be_square(tmp_path: Path) -> None:
    Image.new("RGBA", (300, 200)).save(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="square"):
        icons.write_assets(tmp_path / "bad.png", tmp_path, tmp_path / "out.png")


@pytest.mark.parametrize("size", [16, 24, 32, 64])
def test_tray_images_are_square_rgba(size: int) -> None:
    for state in IconState:
        image = icons.draw_tray_image(state, size)
        assert image.mode == "RGBA" and image.size == (size, size)


def test_the_running_app_loads_the_tray_images_without_pillows_drawing_code() -> None:
    code = (
        "import sys; from companion.tray import icons, status; "
        "images = [icons.tray_image(s) for s in status.IconState]; "
        "print({i.size for i in images}, {i.mode for i in images}, 'PIL.ImageDraw' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["{(64,", "64)}", "{'RGBA'}", "False"]


def test_states_differ_in_shape() -> None:
    shapes = {state: mask(icons.badge_layer(state, 64)) for state in IconState}
    for a, b in itertools.combinations(IconState, 2):
        overlap = len(shapes[a] & shapes[b]) / len(shapes[a] | shapes[b])
        assert overlap < 0.85, f"{a} and {b} badges have nearly the same shape ({overlap:.2f})"


def test_states_differ_in_colour() -> None:
    colours = {}
    for state in IconState:
        badge = icons.badge_layer(state, 64).convert("RGB")
        counts = badge.getcolors(64 * 64) or []
        # The most common colour that is neither background black nor the dark outline.
        colour = max((c for c in counts if sum(c[1]) > 150), key=lambda c: c[0])[1]
        colours[state] = colour
    assert len(set(colours.values())) == 4
    assert colours[IconState.ERROR][0] > 200 and colours[IconState.RECEIVING][1] > 180


def test_tray_image_shows_the_badge_over_the_app_icon() -> None:
    with Image.open(icons.PACKAGED_ICON) as opened:
        plain = opened.convert("RGBA").resize((64, 64), Image.Resampling.LANCZOS)
    for state in IconState:
        diff = ImageChops.difference(icons.tray_image(state), plain).convert("L")
        changed = diff.point(lambda v: 255 if v > 24 else 0).getbbox()
        assert changed is not None, f"{state}: no badge"
        assert changed[0] >= 28 and changed[1] >= 28, f"{state}: changed outside the badge"
