#!/usr/bin/env python3
"""Generates the small image fixtures of the image decoder tests
(Tests/Fixtures/images): JPEGs in each sampling, progressive, grayscale, with
restart markers; PNGs in each colour type and bit depth, Adam7-interlaced; a
few damaged files. Each decodable image has NAME.npy beside it: the RGB
decoding by Pillow, float32 [H, W, 3], the reference the tests compare with.

    .venv/bin/python scripts/make-test-images.py
"""

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Fixtures", "images")


def picture(w: int, h: int) -> np.ndarray:
    """Smooth gradients, a hard edge and some noise: every kind of DCT content."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 255 * x / max(1, w - 1)
    g = 128 + 100 * np.sin(y / 5.0)
    b = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2, 230.0, 20.0)
    img = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def save_ref(name: str) -> None:
    ref = np.asarray(Image.open(os.path.join(OUT, name)).convert("RGB")).astype(np.float32)
    np.save(os.path.join(OUT, name + ".npy"), ref)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def adam7_png(rgb: np.ndarray) -> bytes:
    """An interlaced RGB PNG (Pillow writes none), sub and paeth filters mixed in."""
    h, w, _ = rgb.shape
    raw = bytearray()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for i, row in enumerate(sub):
            line = row.astype(np.int32).reshape(-1)
            if i % 2 == 0:  # Sub filter
                filtered = line.copy()
                filtered[3:] = (line[3:] - line[:-3]) & 0xFF
                raw += bytes([1]) + bytes(filtered.astype(np.uint8))
            else:
                raw += bytes([0]) + bytes(line.astype(np.uint8))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + png_chunk(b"IEND", b""))


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    rgb = picture(37, 29)
    im = Image.fromarray(rgb)
    jpegs = {
        "baseline-420.jpg": dict(quality=90, subsampling=2),
        "baseline-422.jpg": dict(quality=75, subsampling=1),
        "baseline-444.jpg": dict(quality=95, subsampling=0),
        "optimized-420.jpg": dict(quality=85, subsampling=2, optimize=True),
        "progressive-420.jpg": dict(quality=90, subsampling=2, progressive=True),
        "progressive-444.jpg": dict(quality=60, subsampling=0, progressive=True),
        "restart-420.jpg": dict(quality=90, subsampling=2, restart_marker_blocks=3),
    }
    for name, opts in jpegs.items():
        im.save(os.path.join(OUT, name), "JPEG", **opts)
        save_ref(name)
    im.convert("L").save(os.path.join(OUT, "gray.jpg"), "JPEG", quality=90)
    save_ref("gray.jpg")
    im.convert("L").save(os.path.join(OUT, "gray-progressive.jpg"), "JPEG", quality=90, progressive=True)
    save_ref("gray-progressive.jpg")

    im.save(os.path.join(OUT, "rgb.png"))
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])).save(os.path.join(OUT, "rgba.png"))
    im.convert("L").save(os.path.join(OUT, "gray.png"))
    im.convert("P", palette=Image.ADAPTIVE, colors=16).save(os.path.join(OUT, "palette.png"))
    im.convert("1").save(os.path.join(OUT, "bilevel.png"))
    gray16 = np.asarray(im.convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray16).save(os.path.join(OUT, "gray16.png"))
    with open(os.path.join(OUT, "interlaced.png"), "wb") as f:
        f.write(adam7_png(rgb))
    for name in ["rgb.png", "rgba.png", "gray.png", "palette.png", "bilevel.png", "interlaced.png"]:
        save_ref(name)
    # 16-bit samples keep their high byte (Pillow's RGB conversion clips them instead).
    np.save(os.path.join(OUT, "gray16.png.npy"), np.repeat((gray16 >> 8)[:, :, None], 3, 2).astype(np.float32))

    # Damaged files: the decoders must refuse them with a message.
    with open(os.path.join(OUT, "baseline-420.jpg"), "rb") as f:
        jpeg = f.read()
    with open(os.path.join(OUT, "bad-truncated.jpg"), "wb") as f:
        f.write(jpeg[: len(jpeg) // 2])
    with open(os.path.join(OUT, "rgb.png"), "rb") as f:
        png = bytearray(f.read())
    png[60] ^= 0x55
    with open(os.path.join(OUT, "bad-crc.png"), "wb") as f:
        f.write(bytes(png))
    with open(os.path.join(OUT, "bad-not-image.png"), "wb") as f:
        f.write(b"this is not an image\n")
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG")
    with open(os.path.join(OUT, "bad-cmyk.jpg"), "wb") as f:
        f.write(buf.getvalue())
    print(f"wrote {len(os.listdir(OUT))} files to {OUT}")


if __name__ == "__main__":
    main()
