"""Build the board's voice pack with espeak-ng's Vietnamese voice and sox.

    python -m display.voice.build [--voice vi] [--out display/static/voice]

Writes one small Ogg Vorbis clip per phrase, number word and letter (mono,
22.05 kHz), a chime, and manifest.json (clip name -> text). The clips are
committed, so an install needs neither espeak-ng nor sox. To use recorded human
voices instead, put files with the same names (.ogg, .mp3 or .wav) in
motcua-data/voice/: the server serves those first.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from .words import CHIME, all_clips

OUT = Path(__file__).resolve().parent.parent / "static" / "voice"
RATE = "22050"
# Trim espeak-ng's leading and trailing silence so joined clips sound like one sentence.
TRIM = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"]


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        raise SystemExit(f"{tool} is needed to build the voice pack (apt-get install {tool})")


def speak(text: str, out: Path, voice: str, speed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
        subprocess.run(["sox", str(wav), "-r", RATE, "-c", "1", "-C", "0", str(out), *TRIM,
                        "pad", "0", "0.06", "norm", "-1"], check=True)


def chime(out: Path) -> None:
    """Two soft bell tones (ding-dong), like a station announcement."""
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for i, freq in enumerate(("880", "659")):
            part = Path(tmp) / f"{i}.wav"
            subprocess.run(["sox", "-n", "-r", RATE, "-c", "1", str(part), "synth", "0.7", "sine", freq,
                            "fade", "q", "0.01", "0.7", "0.6", "vol", "0.6"], check=True)
            parts.append(str(part))
        subprocess.run(["sox", *parts, "-C", "0", str(out), "pad", "0", "0.2"], check=True)


def build(out: Path = OUT, voice: str = "vi", speed: int = 140) -> dict[str, str]:
    _require("espeak-ng")
    _require("sox")
    out.mkdir(parents=True, exist_ok=True)
    clips = all_clips()
    for name, text in clips.items():
        speak(text, out / f"{name}.ogg", voice, speed)
    chime(out / f"{CHIME}.ogg")
    manifest = {CHIME: "(tiếng chuông)", **clips}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--voice", default="vi", help="espeak-ng voice: vi, vi-vn-x-central, vi-vn-x-south")
    parser.add_argument("--speed", type=int, default=140, help="words per minute")
    args = parser.parse_args()
    manifest = build(args.out, args.voice, args.speed)
    size = sum(p.stat().st_size for p in args.out.glob("*.ogg"))
    print(f"{len(manifest)} clips, {size / 1024:.0f} KB in {args.out}")


if __name__ == "__main__":
    main()
