"""Decoding a text file line by line: the file's encoding, and the lines that are in another one.

charset-normalizer does the detection: it guesses a legacy encoding (`from_bytes`) and measures how garbled a decoded
line looks (`mess_ratio`). Written here by hand is only the per-line glue, because a file pasted together from
several exports (a UTF-8 file with one GBK line and one Latin-1 line) decodes "successfully" as a whole in a
single-byte codepage and turns into mojibake without an error:

1. a byte-order mark, or strict UTF-8 of the whole file, settles it at once (the common case, no per-line work);
2. otherwise every line that is not ASCII gets the encoding it reads as: UTF-8 when it is valid UTF-8 and reads
   sensibly; else the legacy encoding guessed from all the non-UTF-8 lines together, when the line reads sensibly in
   it; else GB18030 when it reads as Chinese;
3. the file's encoding is the one most lines read as (ties: UTF-8 first);
4. a line that does not decode in it, or that reads as another encoding and is garbled in the file's, is *bad*:
   it comes back decoded as it seems to be (so the reader can still split it into cells and show it), with the
   reason, and the reader rejects its row. Nothing is dropped or guessed silently.

Two small tests are hand-written beside charset-normalizer, which is unsure of short and mixed input: "reads as
Chinese" (GB18030 decodes almost any bytes; real Chinese is GB2312 characters, many of them frequent ones) and, only
to show a rejected line, "reads as Western European" in cp1252.

An encoding the user names (`--encoding`) is used for the whole file as is. Lines are split at \\n, \\r\\n and a
bare \\r (as editors, and Python's csv module given `newline=""`, split them). NUL bytes near the start mean a binary
file (refused); later they make their line bad.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from domainfit.errors import DataError, EncodingError
from domainfit.i18n import _

__all__ = ["Decoded", "decode", "detect_encoding", "split_lines"]

_BOMS = (  # longest first: the UTF-32-LE BOM starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_BINARY_PROBE = 8000  # a NUL among the first 8000 characters means binary data (git's and grep's rule)
_MESSY = 0.2  # charset-normalizer's own threshold: above it, a decoded text is considered garbled
_GUESSED_LINES = 200  # at most this many bad lines are guessed one by one (only for the message)


@dataclass(frozen=True)
class Decoded:
    """A decoded file: its encoding, its lines (with their line ends) and the bad ones (0-based index -> reason)."""

    encoding: str
    lines: list[str]
    bad: dict[int, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def split_lines(text: str) -> list[str]:
    """The lines of `text` with their ends, split at \\n, \\r\\n and \\r only (not at U+2028 and friends)."""
    return list(io.StringIO(text, newline=""))


def _line_at(raw: bytes, offset: int) -> int:
    """The 1-based line of byte `offset` (lines end at \\n, \\r\\n or \\r)."""
    before = raw[:offset]
    n = len(before.splitlines())
    return n + 1 if not before or before.endswith((b"\n", b"\r")) else n


def _bad_byte(raw: bytes, err: UnicodeDecodeError) -> str:
    return _("byte {byte} at byte offset {offset} (line {line})").format(byte=f"0x{raw[err.start]:02x}", offset=err.start,
                                                                        line=_line_at(raw, err.start))


# The 100 most frequent Chinese characters: about 40% of the characters of ordinary Chinese prose.
_FREQUENT_HAN = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行"
    "所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实"
)


_HAN_RE = re.compile("[\u4e00-\u9fff]")
_FREQUENT_RE = re.compile("[" + "".join(sorted(_FREQUENT_HAN)) + "]")


def _reads_as_chinese(text: str) -> bool:
    """GB18030 decodes many byte strings. Real Chinese decodes to characters that are almost all in GB2312, and
    with many of the most frequent ones: Korean EUC-KR bytes, for instance, decode to valid but rare characters.
    (Counted by the codecs and regular expressions, in C: this runs on every line of a legacy file.)"""
    text = text[:200_000]
    ascii_count = len(text.encode("ascii", "ignore"))
    total = len(text) - ascii_count
    if total == 0:
        return False
    in_gb2312 = (len(text.encode("gb2312", "ignore")) - ascii_count) // 2  # two bytes a GB2312 character
    han = _HAN_RE.subn("", text)[1]
    if han >= 50 and _FREQUENT_RE.subn("", text)[1] / han < 0.02:
        return False
    return in_gb2312 / total >= 0.8


def _guess(raw: bytes) -> str | None:
    """charset-normalizer's best guess; among equally clean readings the common Western one (cp1252) wins."""
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(raw[:1_000_000]))
    except Exception:  # pragma: no cover - a detector failure must not hide the real problem
        return None
    if not matches:
        return None
    best = matches[0]
    western = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= best.chaos), None)
    return (western or best).encoding


def _mess(text: str, threshold: float = 1.0) -> float:
    from charset_normalizer.md import mess_ratio

    return mess_ratio(text, threshold)


def _messy(text: str) -> bool:
    return _mess(text, _MESSY) >= _MESSY


def detect_encoding(raw: bytes) -> tuple[str, str]:
    """The whole file's encoding and text: a byte-order mark, else strict UTF-8, else GB18030 when the result
    reads as Chinese, else charset-normalizer's guess. Raises EncodingError (without `where`; the caller adds it)."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            try:
                return name, raw.decode(name)
            except UnicodeDecodeError as e:
                raise EncodingError(
                    _("the file starts with a {name} byte-order mark but {byte} is not valid {name}").format(
                        name=name, byte=_bad_byte(raw, e)),
                    hint=_("the file is cut short or not text: export it again, or pass --encoding if you know it"),
                ) from None
    try:
        return "utf-8", raw.decode("utf-8")
    except UnicodeDecodeError as e:
        utf8_error = _bad_byte(raw, e)
    try:
        text = raw.decode("gb18030")
        if _reads_as_chinese(text):
            return "gb18030", text
    except UnicodeDecodeError:
        pass
    tried = ["utf-8", "gb18030"]
    guess = _guess(raw)
    if guess:
        tried.append(_("{encoding} (charset-normalizer's guess)").format(encoding=guess))
        try:
            return guess, raw.decode(guess)
        except (UnicodeDecodeError, LookupError):
            pass
    raise _unknown(utf8_error, tried)


def _unknown(utf8_error: str, tried: list[str]) -> EncodingError:
    return EncodingError(
        _("cannot tell the file's encoding: it is not utf-8 ({error}); tried {tried}").format(error=utf8_error,
                                                                                            tried=", ".join(tried)),
        hint=_("pass the encoding, e.g. --encoding gb18030 or --encoding latin-1 (data.encoding in the YAML), "
               "or re-save the file as UTF-8"),
    )


def _try(line: bytes, encoding: str) -> str | None:
    try:
        return line.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _ascii_compatible(encoding: str) -> bool:
    """Whether the codec reads ASCII bytes as ASCII, so a file can be split into lines before decoding."""
    probe = bytes(range(128))
    return _try(probe, encoding) == probe.decode("ascii")


@lru_cache(maxsize=64)
def _single_byte(encoding: str) -> bool:
    """Whether the codec reads one byte as one character (cp1252, latin-1, ...), unlike GBK or Big5."""
    try:
        return len(bytes(range(0x80, 0x100)).decode(encoding, errors="replace")) == 128
    except LookupError:
        return False


def _sensible(encoding: str, text: str) -> bool:
    """Whether `text`, decoded in `encoding`, reads as text rather than mojibake."""
    return _reads_as_chinese(text) if encoding == "gb18030" else not _messy(text)


def _shown(text: str) -> str:
    text = text.rstrip("\r\n")
    return repr(text if len(text) <= 60 else text[:57] + "...")


def decode(raw: bytes, encoding: str | None = None) -> Decoded:
    """Decode a text file: the encoding given, or the one detected, with the lines in another encoding marked bad.

    Raises EncodingError when no encoding fits, and DataError when the bytes are binary (NUL characters near the
    start); neither has `where` (the caller adds it). A NUL later in the file makes only its line bad.
    """
    if encoding is not None:
        decoded = Decoded(encoding, split_lines(_decode_as(raw, encoding)))
    else:
        decoded = _detect(raw)
    return _mark_nul(decoded)


def _decode_as(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except LookupError:
        raise EncodingError(
            _("unknown encoding {encoding}").format(encoding=repr(encoding)),
            hint=_("use a Python codec name such as utf-8, gb18030, gbk, big5, latin-1, or leave --encoding out to "
                   "detect it"),
        ) from None
    except UnicodeDecodeError as e:
        err = EncodingError(
            _("the file is not valid {encoding}: {byte}").format(encoding=encoding, byte=_bad_byte(raw, e)),
            hint=_("leave --encoding out to detect it (a line in another encoding is then rejected on its own), "
                   "or try another one (utf-8-sig, gb18030, big5, latin-1)"),
        )
        err.line = _line_at(raw, e.start)  # type: ignore[attr-defined]  # the reader puts it in `where`
        raise err from None


def _detect(raw: bytes) -> Decoded:
    body, forced = raw, None
    for bom, name in _BOMS:
        if raw.startswith(bom):
            if name != "utf-8-sig":  # UTF-16/32 cannot be split into lines as bytes: all or nothing
                enc, text = detect_encoding(raw)
                return Decoded(enc, split_lines(text))
            body, forced = raw[len(bom):], name
            break
    if forced is None and b"\x00" in raw[:_BINARY_PROBE]:  # UTF-16/32 without a byte-order mark, or no text at all
        enc = (_guess(raw) or "") if _wide_pattern(raw[:_BINARY_PROBE]) else ""
        text = _try(raw, enc) if enc.lower().replace("_", "-").startswith(("utf-16", "utf-32")) else None
        if text is None:
            raise _binary(_line_at(raw, raw.index(b"\x00")))
        return Decoded(enc, split_lines(text))
    try:
        return Decoded(forced or "utf-8", split_lines(body.decode("utf-8")))
    except UnicodeDecodeError as e:
        utf8_error = _bad_byte(body, e)
    return _by_line(body, forced, utf8_error)


def _wide_pattern(head: bytes) -> bool:
    """Whether NULs sit where UTF-16 or UTF-32 puts them: in every other (or fourth) byte, for the ASCII characters
    of a table. Asked before charset-normalizer, which calls ASCII text with a few NULs UTF-16. (Not detect_encoding:
    UTF-16 of ASCII text is valid UTF-8, NULs and all.)"""
    return any(head[k::2].count(0) >= 0.3 * len(head[k::2]) > 0 for k in (0, 1))


def _by_line(body: bytes, forced: str | None, utf8_error: str) -> Decoded:
    lines = body.splitlines(keepends=True)
    wide = [i for i, line in enumerate(lines) if not line.isascii()]
    utf8 = {i: _try(lines[i], "utf-8") for i in wide}
    foreign = [i for i in wide if utf8[i] is None]
    legacy = _guess(b"".join(lines[i] for i in foreign)) if foreign else None
    if legacy and not _ascii_compatible(legacy):  # e.g. UTF-16 or EBCDIC: no line of this file is in it
        legacy = None
    gb = _try(b"".join(lines[i] for i in foreign), "gb18030")
    if gb is not None and _reads_as_chinese(gb):  # the file-level Chinese test, as detect_encoding does it
        legacy = "gb18030"

    def seems(i: int) -> str | None:
        """The encoding line i reads as (None: none of the file's candidates fits)."""
        if utf8[i] is not None and not _messy(utf8[i]):
            return "utf-8"
        if legacy and (text := _try(lines[i], legacy)) is not None and _sensible(legacy, text):
            return legacy
        if legacy != "gb18030" and (text := _try(lines[i], "gb18030")) is not None and _reads_as_chinese(text):
            return "gb18030"
        return "utf-8" if utf8[i] is not None else None

    apparent = {i: seems(i) for i in wide}
    tally = Counter(a for a in apparent.values() if a)
    order = ["utf-8", legacy, "gb18030"]
    if forced:
        chosen = "utf-8"
    elif tally:
        chosen = max(tally, key=lambda enc: (tally[enc], -order.index(enc) if enc in order else -len(order)))
    else:
        guessed = [_("{encoding} (charset-normalizer's guess)").format(encoding=legacy)] if legacy else []
        raise _unknown(utf8_error, ["utf-8", "gb18030", *guessed])

    out: list[str] = []
    bad: dict[int, str] = {}
    guessed = 0
    for i, line in enumerate(lines):
        if line.isascii():
            out.append(line.decode("ascii"))
            continue
        text, seen = _try(line, chosen), apparent[i]
        asked = seen is None and (text is None or not _sensible(chosen, text)) and guessed < _GUESSED_LINES
        if asked:  # garbled in the file's encoding and in every candidate: ask about this line alone
            guessed += 1
            seen = _line_guess(line)
        if text is not None and not _foreign(chosen, text, seen, utf8[i]):
            out.append(text)
            continue
        if not asked and seen not in ("utf-8", "gb18030") and guessed < _GUESSED_LINES:
            # a guess from the whole file's odd lines together is weak for one line: the line alone may say better
            guessed += 1
            seen = _line_guess(line) or seen
        reading = _try(line, seen) if seen else None
        out.append(reading if reading is not None else line.decode(chosen, errors="replace"))
        bad[i] = _reason(i + 1, chosen, text is None, seen if reading is not None else None, reading)
    return Decoded(forced or chosen, out, bad)


_WESTERN = frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŒœŠšŽžŸ€‘’“”–—…«»°£§©®·¿¡")


def _reads_as_western(text: str) -> bool:
    """Western European text in cp1252: mostly ASCII letters, the others accented letters and the usual marks.
    GBK or UTF-8 bytes read in cp1252 come out as runs of accented letters ("ÍâÂô", "cafÃ©" has "Ã©")."""
    wide = [ch for ch in text if ord(ch) > 127]
    letters = sum(ch.isalpha() for ch in text)
    if not wide or not all(ch in _WESTERN for ch in wide) or "Ã" in wide or "Â" in wide:
        return False
    return sum(ch.isalpha() for ch in wide) <= 0.3 * letters


def _line_guess(line: bytes) -> str | None:
    """The encoding one line reads sensibly in: cp1252 for Western European text (charset-normalizer is unsure of
    single short lines; "crème brûlée account" comes back as Big5-HKSCS), else charset-normalizer's guess."""
    western = _try(line, "cp1252")
    if western is not None and _reads_as_western(western):
        return "cp1252"
    guess = _guess(line)
    if not guess or not _ascii_compatible(guess):
        return None
    reading = _try(line, guess)
    return guess if reading is not None and not _messy(reading) else None


def _foreign(chosen: str, text: str, seen: str | None, as_utf8: str | None) -> bool:
    """A line that decodes in the file's encoding but is in another: UTF-8 in a single-byte legacy file (a UTF-8
    "é" reads "Ã©" there, which looks like text), or a line that reads sensibly in another encoding and is garbled
    in the file's."""
    if seen is None or seen == chosen:
        return False
    if seen == "utf-8" and as_utf8 is not None:
        if _single_byte(chosen):
            return True
        # In GBK, Big5, ... one short line in ten is valid UTF-8 by chance ("去" is also "ȥ"): it stays when it reads
        # sensibly in the file's encoding and no worse than as UTF-8 (a UTF-8 "café" reads "caf茅" in GBK).
        return not _sensible(chosen, text) or _mess(text) > _mess(as_utf8) + _MESSY / 2
    return not _sensible(chosen, text)


def _reason(number: int, chosen: str, undecodable: bool, seen: str | None, reading: str | None) -> str:
    head = (_("line {number} is not valid {encoding}") if undecodable else _("line {number} is not in {encoding}")).format(
        number=number, encoding=chosen)
    tail = _("; it reads as {encoding}: {text}").format(encoding=seen, text=_shown(reading)) if seen and reading is not None else ""
    return "encoding: " + _("{line}, the encoding of the rest of the file{tail}").format(line=head, tail=tail)


def _binary(line: int) -> DataError:
    return DataError(
        _("the file holds NUL bytes (line {line}): it looks like a binary file, not text").format(line=line),
        hint=_("export the table as CSV, TSV or JSON Lines text, or give a binary table its real extension (.xlsx, "
               ".parquet); a UTF-16 text without a byte-order mark needs --encoding utf-16-le (or utf-16-be)"),
    )


def _mark_nul(decoded: Decoded) -> Decoded:
    """Binary data is refused: NULs near the start mean the whole file; a NUL later makes its line bad."""
    seen = number = 0
    for i, line in enumerate(decoded.lines):
        if seen >= _BINARY_PROBE:
            break
        if "\x00" in line[: _BINARY_PROBE - seen]:
            number = i + 1
            break
        seen += len(line)
    if number:
        raise _binary(number)
    bad = dict(decoded.bad)
    for i, line in enumerate(decoded.lines):
        if "\x00" in line and i not in bad:
            bad[i] = "binary: " + _("line {number} holds NUL bytes (binary data, not text)").format(number=i + 1)
    return Decoded(decoded.encoding, decoded.lines, bad) if len(bad) != len(decoded.bad) else decoded
