"""The board's voice: Vietnamese number words, letters, and the clip pack that says them."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from display.voice.words import LETTER_CLIPS, WORD_CLIPS, all_clips, call_clips, number_words

PACK = Path(__file__).resolve().parent.parent / "display" / "static" / "voice"
NUMBERS_JS = PACK.parent / "numbers.js"


@pytest.mark.parametrize("n, words", [
    (0, "không"), (1, "một"), (4, "bốn"), (5, "năm"), (9, "chín"),
    (10, "mười"), (11, "mười một"), (14, "mười bốn"), (15, "mười lăm"), (19, "mười chín"),
    (20, "hai mươi"), (21, "hai mươi mốt"), (24, "hai mươi tư"), (25, "hai mươi lăm"),
    (31, "ba mươi mốt"), (55, "năm mươi lăm"), (99, "chín mươi chín"),
    (100, "một trăm"), (101, "một trăm linh một"), (104, "một trăm linh bốn"), (105, "một trăm linh năm"),
    (110, "một trăm mười"), (111, "một trăm mười một"), (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"), (205, "hai trăm linh năm"), (350, "ba trăm năm mươi"),
    (999, "chín trăm chín mươi chín"),
])
def test_numbers_are_said_as_vietnamese_words(n, words):
    assert " ".join(number_words(n)) == words


def test_every_number_of_a_day_has_clips():
    for n in range(1000):
        assert all(word in WORD_CLIPS for word in number_words(n)), n
    with pytest.raises(ValueError):
        number_words(1000)


def test_a015_at_counter_3_is_one_sentence_of_clips():
    assert call_clips("A015", 3) == ["moi-cong-dan-co-so", "chu-a", "so-muoi", "so-lam", "den-quay-so", "so-ba"]
    assert call_clips("K121", 12) == ["moi-cong-dan-co-so", "chu-k", "so-mot", "so-tram", "so-hai",
                                      "so-muoi-ngang", "so-mot-sac", "den-quay-so", "so-muoi", "so-hai"]
    assert call_clips("ĐA007", 1)[1:3] == ["chu-dd", "chu-a"]


def test_the_pack_holds_every_clip_and_stays_small():
    manifest = json.loads((PACK / "manifest.json").read_text(encoding="utf-8"))
    for name in ["chime", *all_clips()]:
        assert (PACK / f"{name}.ogg").stat().st_size > 1000, name
        assert name in manifest
    assert sum(p.stat().st_size for p in PACK.glob("*.ogg")) < 1024 * 1024


def test_the_page_names_the_same_clips_as_the_builder():
    """numbers.js mirrors words.py: same word -> clip map, same letter clips."""
    source = NUMBERS_JS.read_text(encoding="utf-8")
    js_words = dict(re.findall(r'"([^"]+)": "(so-[a-z-]+)"', source))
    assert js_words == WORD_CLIPS
    letters_block = source.split("export const LETTERS = {", 1)[1].split("};", 1)[0]
    js_letters = set(re.findall(r'"(.)": "', letters_block))
    assert js_letters == set(LETTER_CLIPS)


def test_an_office_recording_replaces_the_bundled_clip(app, client):
    assert client.get("/display/voice/so-ba").data == (PACK / "so-ba.ogg").read_bytes()
    own = Path(app.extensions["motcua"].config.instance_path) / "voice"
    own.mkdir(parents=True, exist_ok=True)
    (own / "so-ba.mp3").write_bytes(b"ID3 recorded by the office")
    assert client.get("/display/voice/so-ba").data == b"ID3 recorded by the office"
    assert client.get("/display/voice/../server/app").status_code == 404
    assert client.get("/display/voice/khong-co").status_code == 404
