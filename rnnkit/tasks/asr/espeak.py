"""The `espeak-ng` speech synthesiser, called as a program: text in, a deterministic waveform out.

A voice is `ACCENT+VARIANT`, e.g. `en-us+m3`: the accent (a language file) decides the pronunciation,
the variant (a file under espeak-ng-data/voices/!v) the speaker - pitch range, formants, roughness.
`-s` sets the speaking rate in words per minute, `-p` the pitch (0-99), `-g` a pause between words in
units of 10 ms. espeak-ng writes a 22,050 Hz 16-bit mono WAV to standard output; the same arguments give
the same samples on every run of the same espeak-ng version.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from functools import cache

import numpy as np

from rnnkit.training.errors import DataError

INSTALL_HINT = ("install it (Debian/Ubuntu: apt-get install espeak-ng; macOS: brew install espeak-ng) or pass "
                "--data DIR with your own recordings")


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


@cache
def espeak_version() -> str:
    """E.g. '1.51'; DataError if espeak-ng is missing."""
    binary = require_espeak()
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"text-to-speech:\s*(\S+)", out)      # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    return found.group(1) if found else " ".join(out.split())[:40]


def require_espeak() -> str:
    binary = espeak_binary()
    if binary is None:
        raise DataError(f"espeak-ng not found: the default asr corpus is synthesised with it; {INSTALL_HINT}")
    return binary


def synthesize(text: str, voice: str, speed: int, pitch: int, gap: int = 0) -> tuple[np.ndarray, int]:
    """(samples float32 in [-1, 1], sample rate) of `text` spoken by `voice`."""
    cmd = [require_espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch), "-g", str(gap), "--stdout", text]
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0 or len(done.stdout) <= 44:
        message = " ".join(done.stderr.decode("utf-8", "replace").split()) or f"exit status {done.returncode}"
        raise DataError(f"espeak-ng failed for voice {voice!r} on {text!r}: {message}")
    return parse_wav(done.stdout, f"espeak-ng output for {text!r}")


def parse_wav(data: bytes, where: str) -> tuple[np.ndarray, int]:
    """A 16-bit PCM mono RIFF/WAVE byte string -> (samples, rate). espeak-ng writing to a pipe cannot seek
    back to fill in the sizes, so they are placeholders: the data is whatever follows the `data` tag."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise DataError(f"{where}: not a WAV stream")
    pos, rate, bits, channels = 12, None, None, None
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if tag == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", data[pos + 8:pos + 16])
            bits = struct.unpack("<H", data[pos + 22:pos + 24])[0]
            if fmt != 1 or bits != 16 or channels != 1:
                raise DataError(f"{where}: expected 16-bit PCM mono, got format {fmt}, {bits} bits, {channels} ch")
        elif tag == b"data":
            if rate is None:
                break
            body = data[pos + 8:]
            body = body[: len(body) // 2 * 2]
            return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0, rate
        pos += 8 + size
    raise DataError(f"{where}: WAV stream without fmt and data chunks")
