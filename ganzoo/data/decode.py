"""Decode one image into uint8 pixels, whatever PIL opens: 16-bit greyscale scaled to 8 bits (PIL's own conversion
clips it to white), palettes, alpha, animations; huge images shrunk early, and PIL's decompression-bomb warning kept
off the terminal (the caller says it in ganzoo's own line instead)."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np

GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
#: 16-bit greyscale, as PIL opens 16-bit PNGs and TIFFs: 0..65535.
SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N"}
#: Modes PIL's ``Image.reduce`` takes.
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "I", "F"}


@contextmanager
def quiet_bombs():
    """PIL warns (a raw Python warning) on opening any image over ``Image.MAX_IMAGE_PIXELS``; ganzoo reports such
    images itself, once, so the warning is silenced while they are opened and decoded."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def megapixels(pixels: float) -> str:
    """``169 Mpx``; small counts keep two digits (``0.0025 Mpx``) rather than reading as 0."""
    return f"{pixels / 1e6:.0f} Mpx" if pixels >= 1e7 else f"{pixels / 1e6:.2g} Mpx"


def too_large(err: BaseException) -> str | None:
    """Why PIL refused to open an image as a decompression bomb, in ganzoo's words (None for other errors)."""
    from PIL import Image

    if isinstance(err, Image.DecompressionBombError):
        return f"too large: over PIL's limit of {megapixels(2 * Image.MAX_IMAGE_PIXELS)}; shrink it to use it"
    return None


def _eight_bit(im):
    """16-bit (and 32-bit integer) greyscale as 8-bit "L", scaled rather than clipped. Mode "I" has no fixed range:
    values up to 255 are taken as 8-bit, larger ones as 16-bit."""
    from PIL import Image

    arr = np.asarray(im)
    if im.mode == "I" and int(arr.max(initial=0)) <= 255:
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    wide = np.clip(arr, 0, 65535).astype(np.uint32)  # times 255 still fits
    return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))


def decode(image: Any, size: int | None, channels: int | None) -> tuple[np.ndarray, bool, int]:
    """One image as uint8 (C, S, S), whether it was greyscale, and its pixel count when it is over PIL's warning
    limit (else 0). ``channels`` None keeps 3 (the caller drops them to 1 when every image was grey). The first
    frame of an animation; alpha is discarded."""
    from PIL import Image
    from torchvision.transforms import functional as TF

    owned = not isinstance(image, Image.Image)
    with quiet_bombs():
        im = Image.open(image) if owned else image
        try:
            im.seek(0)
            pixels = im.width * im.height
            large = pixels if pixels > Image.MAX_IMAGE_PIXELS else 0
            if size is not None and im.format == "JPEG":
                im.draft("RGB" if channels != 1 else "L", (size, size))  # decode at a reduced scale, never below size
            grey = im.mode in GREY_MODES
            if im.mode in SIXTEEN_BIT or im.mode == "I":
                im = _eight_bit(im)
            if im.mode == "P":  # palette: grey when every palette entry is
                im = im.convert("RGB")
                arr = np.asarray(im)
                grey = bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all())
            factor = min(im.size) // (2 * size) if size else 0
            if factor >= 2 and im.mode in _REDUCIBLE:  # box-average a big image first: resizing it whole is slow
                im = im.reduce(factor)
            im = im.convert("L" if channels == 1 or (channels is None and grey) else "RGB")
            if size is not None:
                im = TF.center_crop(TF.resize(im, size, interpolation=TF.InterpolationMode.BICUBIC), [size, size])
            elif im.width != im.height:
                side = min(im.width, im.height)
                im = TF.center_crop(im, [side, side])
            arr = np.asarray(im, dtype=np.uint8)
        finally:
            if owned:
                im.close()
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if channels is None and arr.shape[0] == 1:
        arr = np.repeat(arr, 3, 0)
    return arr, grey, large
