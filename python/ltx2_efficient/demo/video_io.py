"""Writes RGB frames as a video file: H.264 mp4 through PyAV when available, else animated GIF.

Frames are upscaled with nearest-neighbour first (demo clips are tiny) to a size H.264 accepts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ltx2_efficient.demo.contact_sheet import to_uint8


def upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    """``[F, H, W, 3]`` -> ``[F, H*scale, W*scale, 3]`` by pixel repetition."""
    if scale < 1 or scale > 64:
        raise ValueError(f"scale must be in [1, 64], got {scale}")
    return np.repeat(np.repeat(np.asarray(frames), scale, axis=1), scale, axis=2)


def write_video(frames: np.ndarray, path_stem: Path, fps: float, scale: int = 8) -> Path:
    """Writes ``path_stem`` + ``.mp4`` (or ``.gif`` without PyAV/H.264); returns the path written."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [F, H, W, 3], got shape {frames.shape}")
    if not 0.5 <= fps <= 120:
        raise ValueError(f"fps must be in [0.5, 120], got {fps}")
    pixels = to_uint8(upscale(frames, scale))
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _write_mp4(pixels, path_stem.with_suffix(".mp4"), fps)
    except (ImportError, ValueError, OSError):
        return _write_gif(pixels, path_stem.with_suffix(".gif"), fps)


def _write_mp4(pixels: np.ndarray, path: Path, fps: float) -> Path:
    from fractions import Fraction

    import av

    if "libx264" not in av.codecs_available and "h264" not in av.codecs_available:
        raise ValueError("PyAV has no H.264 encoder")
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "h264", rate=rate)
        stream.width = pixels.shape[2] + pixels.shape[2] % 2
        stream.height = pixels.shape[1] + pixels.shape[1] % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for frame in pixels:
            padded = np.pad(
                frame, ((0, stream.height - frame.shape[0]), (0, stream.width - frame.shape[1]), (0, 0))
            )
            for packet in stream.encode(av.VideoFrame.from_ndarray(padded, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _write_gif(pixels: np.ndarray, path: Path, fps: float) -> Path:
    images = [Image.fromarray(frame) for frame in pixels]
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return path
