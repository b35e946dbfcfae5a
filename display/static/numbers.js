// How the board says a call in Vietnamese, as an ordered list of clip names.
// Mirrors display/voice/words.py (which builds the clips); keep the two in step.

const DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"];

export const WORD_CLIPS = {
  "không": "so-khong", "một": "so-mot", "hai": "so-hai", "ba": "so-ba", "bốn": "so-bon",
  "năm": "so-nam", "sáu": "so-sau", "bảy": "so-bay", "tám": "so-tam", "chín": "so-chin",
  "mười": "so-muoi", "mươi": "so-muoi-ngang", "trăm": "so-tram", "linh": "so-linh",
  "mốt": "so-mot-sac", "tư": "so-tu", "lăm": "so-lam",
};

// Letters of a ticket prefix, read the Vietnamese way: A "a", B "bê", C "xê", … K "ca".
export const LETTERS = {
  "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "Ê": "ê",
  "F": "ép", "G": "giê", "H": "hát", "I": "i", "J": "gi", "K": "ca", "L": "e lờ", "M": "em mờ",
  "N": "en nờ", "O": "o", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy", "R": "e rờ", "S": "ét xì",
  "T": "tê", "U": "u", "Ư": "ư", "V": "vê", "W": "vê kép", "X": "ích xì", "Y": "i dài", "Z": "dét",
};
const LETTER_NAMES = { "Ă": "aw", "Â": "aa", "Đ": "dd", "Ê": "ee", "Ô": "oo", "Ơ": "ow", "Ư": "uw" };

export function letterClip(letter) {
  return "chu-" + (LETTER_NAMES[letter] || letter.toLowerCase());
}

/** 0..999 as Vietnamese number words: 15 -> mười lăm, 21 -> hai mươi mốt, 105 -> một trăm linh năm. */
export function numberWords(n) {
  if (!Number.isInteger(n) || n < 0 || n > 999) throw new RangeError(`${n} is outside 0..999`);
  if (n < 10) return [DIGITS[n]];
  const hundreds = Math.floor(n / 100), tens = Math.floor(n / 10) % 10, units = n % 10;
  const words = hundreds ? [DIGITS[hundreds], "trăm"] : [];
  if (tens === 0) {
    if (units) words.push("linh", DIGITS[units]);
    return words;
  }
  if (tens === 1) {
    words.push("mười");
    if (units === 5) words.push("lăm");
    else if (units) words.push(DIGITS[units]);
    return words;
  }
  words.push(DIGITS[tens], "mươi");
  if (units) words.push({ 1: "mốt", 4: "tư", 5: "lăm" }[units] || DIGITS[units]);
  return words;
}

/** Words for any ticket number; past 999 (never in a normal day) it is read digit by digit. */
function spokenNumber(n) {
  return n <= 999 ? numberWords(n) : String(n).split("").map((d) => DIGITS[Number(d)]);
}

function splitCode(code) {
  const prefix = [...code].filter((ch) => !/[0-9]/.test(ch)).join("").toUpperCase();
  const digits = [...code].filter((ch) => /[0-9]/.test(ch)).join("");
  return { prefix, number: digits ? Number(digits) : null };
}

/** One saying of "Mời công dân có số A015 đến quầy số 3" as clip names (played twice after a chime). */
export function callClips(code, counter) {
  const { prefix, number } = splitCode(code);
  const clips = ["moi-cong-dan-co-so"];
  for (const letter of prefix) if (LETTERS[letter]) clips.push(letterClip(letter));
  if (number !== null) clips.push(...spokenNumber(number).map((w) => WORD_CLIPS[w]));
  clips.push("den-quay-so", ...spokenNumber(counter).map((w) => WORD_CLIPS[w]));
  return clips;
}

/** The same sentence as text, for a browser's own Vietnamese voice (speechSynthesis). */
export function callText(code, counter) {
  const { prefix, number } = splitCode(code);
  const parts = ["Mời công dân có số"];
  for (const letter of prefix) if (LETTERS[letter]) parts.push(LETTERS[letter]);
  if (number !== null) parts.push(...spokenNumber(number));
  parts.push("đến quầy số", ...spokenNumber(counter));
  return parts.join(" ");
}
