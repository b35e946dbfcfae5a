"""How the board says a call in Vietnamese, as an ordered list of clip names.

Mirrored by display/static/numbers.js (the page joins the clips); tests/test_voice.py
checks this module, and the browser test checks the page asks for the same clips.
"""
from __future__ import annotations

DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]

# Clip name -> what it says. Names are ASCII so an office can record its own
# clips with the same names; words that differ only by tone get distinct names.
WORD_CLIPS = {
    "không": "so-khong", "một": "so-mot", "hai": "so-hai", "ba": "so-ba", "bốn": "so-bon",
    "năm": "so-nam", "sáu": "so-sau", "bảy": "so-bay", "tám": "so-tam", "chín": "so-chin",
    "mười": "so-muoi", "mươi": "so-muoi-ngang", "trăm": "so-tram", "linh": "so-linh",
    "mốt": "so-mot-sac", "tư": "so-tu", "lăm": "so-lam",
}

# Letters of a ticket prefix, read the Vietnamese way.
LETTERS = {
    "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "Ê": "ê",
    "F": "ép", "G": "giê", "H": "hát", "I": "i", "J": "gi", "K": "ca", "L": "e lờ", "M": "em mờ",
    "N": "en nờ", "O": "o", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy", "R": "e rờ", "S": "ét xì",
    "T": "tê", "U": "u", "Ư": "ư", "V": "vê", "W": "vê kép", "X": "ích xì", "Y": "i dài", "Z": "dét",
}
LETTER_CLIPS = {
    letter: "chu-" + {"Ă": "aw", "Â": "aa", "Đ": "dd", "Ê": "ee", "Ô": "oo", "Ơ": "ow", "Ư": "uw"}.get(letter, letter.lower())
    for letter in LETTERS
}

PHRASES = {"moi-cong-dan-co-so": "Mời công dân có số", "den-quay-so": "đến quầy số"}
CHIME = "chime"


def number_words(n: int) -> list[str]:
    """0..999 as Vietnamese number words: 15 -> mười lăm, 21 -> hai mươi mốt, 105 -> một trăm linh năm."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n} is outside 0..999")
    if n < 10:
        return [DIGITS[n]]
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words = [DIGITS[hundreds], "trăm"] if hundreds else []
    if tens == 0:
        if units:
            words += ["linh", DIGITS[units]]
        return words
    if tens == 1:
        words.append("mười")
        if units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGITS[units])
        return words
    words += [DIGITS[tens], "mươi"]
    if units:
        words.append({1: "mốt", 4: "tư", 5: "lăm"}.get(units, DIGITS[units]))
    return words


def spoken_number_clips(n: int) -> list[str]:
    """Clips for a number; past 999 (never in a normal day) it is read digit by digit."""
    words = number_words(n) if n <= 999 else [DIGITS[int(d)] for d in str(n)]
    return [WORD_CLIPS[w] for w in words]


def call_clips(code: str, counter: int) -> list[str]:
    """One saying of "Mời công dân có số A015 đến quầy số 3" (the board plays it twice, after a chime)."""
    prefix = "".join(ch for ch in code if not ch.isdigit())
    digits = "".join(ch for ch in code if ch.isdigit())
    clips = ["moi-cong-dan-co-so"] + [LETTER_CLIPS[ch] for ch in prefix.upper() if ch in LETTER_CLIPS]
    if digits:
        clips += spoken_number_clips(int(digits))
    return clips + ["den-quay-so"] + spoken_number_clips(counter)


def all_clips() -> dict[str, str]:
    """Every clip of the pack: name -> text to speak (the chime is a tone, not speech)."""
    clips = dict(PHRASES)
    clips.update({name: word for word, name in WORD_CLIPS.items()})
    clips.update({LETTER_CLIPS[letter]: spoken for letter, spoken in LETTERS.items()})
    return clips
