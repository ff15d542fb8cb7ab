"""The tray icon and the application icons, all drawn from one source image.

``assets/icon-source.png`` (512 by 512) is the one source. ``python -m companion.tray.icons`` writes
from it everything the three OSes need: PNGs at the hicolor sizes (Linux), ``companion.ico``
(Windows: 16 to 256), ``companion.icns`` (macOS), the copy of the app icon packaged with the
code, ``companion/tray/icon.png`` (the assets folder is not part of an installed package), and the
tray icon of each state, ``companion/tray/tray-<state>.png``. A test checks that the generated
files match the source.

The tray icon is the app icon with a state badge: a grey ring (idle), a green disc (receiving),
amber pause bars (backlog or paused) and a red warning triangle (error), so the states differ in
shape as well as colour for players who cannot tell the colours apart. They are drawn here, when
the icons are generated; the running app only loads the PNGs, so Pillow's drawing and font code
(1.6 MB) is not in its memory.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from companion.tray.status import IconState

PACKAGED_ICON = Path(__file__).with_name("icon.png")
ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
SOURCE_NAME = "icon-source.png"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 256)
PACKAGED_SIZE = 256
TRAY_SIZE = 64  # square: the X backends stretch a non-square image to the slot

_OUTLINE = (12, 18, 34, 255)
_BADGE_COLOURS = {
    IconState.IDLE: (160, 166, 178, 255),
    IconState.RECEIVING: (46, 204, 113, 255),
    IconState.BACKLOG: (255, 196, 0, 255),
    IconState.ERROR: (231, 53, 53, 255),
}


def _resized(image: Image.Image, size: int) -> Image.Image:
    return (
        image
        if image.size == (size, size)
        else image.resize((size, size), Image.Resampling.LANCZOS)
    )


@functools.cache
def _base_image() -> Image.Image:
    with Image.open(PACKAGED_ICON) as image:
        return image.convert("RGBA")


def badge_layer(state: IconState, size: int) -> Image.Image:
    """The state's badge alone, on a transparent square layer of ``size`` pixels (bottom right)."""
    from PIL import ImageDraw  # drawing only: see the module docstring

    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colour = _BADGE_COLOURS[state]
    unit = size / 256
    left, top, right, bottom = 128 * unit, 128 * unit, 252 * unit, 252 * unit
    edge = max(1, round(10 * unit))
    if state is IconState.IDLE:
        # A ring with a see-through middle: hollow, where "receiving" is a solid disc.
        ring = max(2, round(14 * unit))
        draw.ellipse((left, top, right, bottom), outline=_OUTLINE, width=ring + 2 * edge)
        draw.ellipse(
            (left + edge, top + edge, right - edge, bottom - edge), outline=colour, width=ring
        )
    elif state is IconState.RECEIVING:
        draw.ellipse((left, top, right, bottom), fill=_OUTLINE)
        draw.ellipse((left + edge, top + edge, right - edge, bottom - edge), fill=colour)
    elif state is IconState.BACKLOG:
        bar = (right - left) * 0.36
        gap = (right - left) - 2 * bar
        for x in (left, left + bar + gap):
            draw.rectangle((x, top, x + bar, bottom), fill=_OUTLINE)
            draw.rectangle((x + edge, top + edge, x + bar - edge, bottom - edge), fill=colour)
    else:
        outer = [((left + right) / 2, top), (right, bottom), (left, bottom)]
        draw.polygon(outer, fill=_OUTLINE)
        inner = [
            ((left + right) / 2, top + 2.2 * edge),
            (right - 1.8 * edge, bottom - edge),
            (left + 1.8 * edge, bottom - edge),
        ]
        draw.polygon(inner, fill=colour)
        mid = (left + right) / 2
        stroke = max(1, round(14 * unit))
        draw.rectangle(
            (mid - stroke / 2, top + 48 * unit, mid + stroke / 2, top + 92 * unit), fill=_OUTLINE
        )
        draw.rectangle(
            (mid - stroke / 2, top + 102 * unit, mid + stroke / 2, top + 114 * unit), fill=_OUTLINE
        )
    return layer


def draw_tray_image(
    state: IconState, size: int = TRAY_SIZE, base: Image.Image | None = None
) -> Image.Image:
    """The tray icon for ``state``: the app icon (``base``, or the packaged one) with the state's
    badge, ``size`` pixels square. Drawn at 256 pixels and scaled down, so small sizes stay
    smooth."""
    big = _resized(_base_image() if base is None else base, PACKAGED_SIZE).copy()
    big.alpha_composite(badge_layer(state, PACKAGED_SIZE))
    return _resized(big, size)


def state_icon_path(state: IconState, packaged: Path = PACKAGED_ICON) -> Path:
    return packaged.with_name(f"tray-{state.value}.png")


@functools.cache
def tray_image(state: IconState) -> Image.Image:
    """The tray icon for ``state``, as :func:`draw_tray_image` drew it when the icons were
    generated; cached per state (pystray only reads the image)."""
    with Image.open(state_icon_path(state)) as image:
        return image.convert("RGBA")


def write_assets(source: Path, assets_dir: Path, packaged: Path) -> list[Path]:
    """Generate every icon file from ``source``; returns the files written."""
    with Image.open(source) as opened:
        image = opened.convert("RGBA")
    if image.size[0] != image.size[1] or image.size[0] < 256:
        raise ValueError(f"{source}: the icon source must be square and at least 256 pixels")
    written: list[Path] = []
    for size in PNG_SIZES:
        path = assets_dir / f"icon-{size}.png"
        _resized(image, size).save(path, optimize=True)
        written.append(path)
    ico = assets_dir / "companion.ico"
    image.save(ico, sizes=[(size, size) for size in ICO_SIZES])
    icns = assets_dir / "companion.icns"
    image.save(icns)
    base = _resized(image, PACKAGED_SIZE)
    base.save(packaged, optimize=True)
    written += [ico, icns, packaged]
    for state in IconState:
        path = state_icon_path(state, packaged)
        draw_tray_image(state, TRAY_SIZE, base).save(path, optimize=True)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m companion.tray.icons",
        description="Write the icon sizes, .ico, .icns and the packaged tray icon from the source.",
    )
    parser.add_argument("--assets", type=Path, default=ASSETS_DIR)
    args = parser.parse_args(argv)
    for path in write_assets(args.assets / SOURCE_NAME, args.assets, PACKAGED_ICON):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
