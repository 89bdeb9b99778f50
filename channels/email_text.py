"""Text helpers for mail: charset fallbacks, HTML to text, quoted history.

Pure functions without I/O. Real mail declares charsets it does not use
(Latin-1 labelled UTF-8, GBK labelled GB2312, `unknown-8bit`), so decoding
tries what the message says, then what the bytes look like, and never fails.
"""

from __future__ import annotations

import html as html_lib
import re

import charset_normalizer
import nh3

# Declared charset -> the superset mail software really used (WHATWG
# Encoding Standard §4.2 maps these labels the same way browsers do).
CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
}
# Labels that say nothing about the bytes.
UNKNOWN_CHARSETS = {"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "8bit", "default", "x-user-defined", "charset"}
# Single-byte labels under which valid multi-byte UTF-8 is far likelier to be mislabelled UTF-8.
SINGLE_BYTE_LABELS = {"cp1252", "iso-8859-15", "iso-8859-2", "cp1250"}


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Bytes in some charset -> text, falling back until something fits."""
    label = (declared or "").strip().strip('"').lower()
    charset = CHARSET_SUPERSETS.get(label, label)
    if data.isascii() and charset not in ("utf-7", "utf-16", "utf-32") and not charset.startswith("iso-2022"):
        return data.decode("ascii")
    if charset in SINGLE_BYTE_LABELS and _valid_utf8(data):
        return data.decode("utf-8")
    candidates = [] if label in UNKNOWN_CHARSETS else [charset]
    if charset.startswith("iso-2022-jp"):
        return _decode_iso2022jp(data)
    candidates.append("utf-8")
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    guessed = guess_legacy(data)
    if guessed is not None:
        return guessed
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


# East Asian double-byte charsets, tried when high bytes come in pairs.
CJK_CHARSETS = ["gb18030", "big5hkscs", "cp932", "cp949", "euc_jp"]


def guess_legacy(data: bytes) -> str | None:
    """Undeclared 8-bit text: pairs of high bytes mean a CJK charset, single ones a Latin one.

    charset_normalizer alone reads short Chinese text as Latin-2 and short
    Latin-1 as Arabic presentation forms; the shape of the bytes decides better.
    """
    found = list(re.finditer(rb"[\x80-\xff]+", data))
    runs = [m.end() - m.start() for m in found]
    paired = sum(n for n in runs if n >= 2 and n % 2 == 0)
    # Latin letters sit inside words ("Gr\xfc\xdfe"); CJK runs stand between spaces and punctuation.
    in_words = sum(1 for m in found if _ascii_letter_at(data, m.start() - 1) or _ascii_letter_at(data, m.end()))
    if paired < 0.8 * sum(runs) or in_words >= 0.5 * len(found):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            best = charset_normalizer.from_bytes(data).best()
            return str(best) if best is not None else None
    # Undeclared CJK text in mail is mostly Chinese; GB18030 first, the rest by score.
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(data, cp_isolation=CJK_CHARSETS).best()
        return str(best) if best is not None else None


def _ascii_letter_at(data: bytes, index: int) -> bool:
    return 0 <= index < len(data) and (65 <= data[index] <= 90 or 97 <= data[index] <= 122)


def _decode_iso2022jp(data: bytes) -> str:
    """ISO-2022-JP as Japanese mailers write it: with NEC and IBM extensions (CP50221).

    Python's codec refuses those (circled digits, full-width signs), so the JIS
    segments are turned into Shift_JIS and read as CP932, which has them all.
    """
    for codec in ("iso2022_jp", "iso2022_jp_ext"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    out: list[str] = []
    mode = b""
    for piece in re.split(rb"(\x1b[$(][@BJI])", data):
        if re.fullmatch(rb"\x1b[$(][@BJI]", piece):
            mode = piece
        elif mode in (b"\x1b$B", b"\x1b$@"):
            sjis = b"".join(_jis_to_sjis(piece[i], piece[i + 1]) for i in range(0, len(piece) - 1, 2))
            out.append(sjis.decode("cp932", errors="replace"))
        elif mode == b"\x1b(I":
            out.append(bytes(b | 0x80 for b in piece).decode("cp932", errors="replace"))
        else:
            out.append(piece.decode("ascii", errors="replace"))
    return "".join(out)


def _jis_to_sjis(high: int, low: int) -> bytes:
    if not (0x21 <= high <= 0x7E and 0x21 <= low <= 0x7E):
        return b"?"
    s1 = (high + 1) // 2 + (0x70 if high <= 0x5E else 0xB0)
    s2 = low + (0x1F if high % 2 else 0x7E)
    if high % 2 and s2 >= 0x7F:
        s2 += 1
    return bytes((s1, s2))


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- HTML -------------------------------------------------------------------

BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "dd", "dt", "dl", "section", "article", "header", "footer", "address",
}
# Elements whose content is not text a person wrote (`o:p`, `xml`: Word's markup).
SKIPPED_TAGS = {"script", "style", "title", "template", "noscript", "xml", "o:p"}
# The tags `html_to_text` reads; html5ever keeps no `head` in a body fragment.
STRUCTURE_TAGS = BLOCK_TAGS | {"td", "th"}
# nh3's output of those: bare tags, and text with `<` and `&` escaped.
STRUCTURE_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)>")
# `cid:` lets the agent view show inline images we keep with the message.
URL_SCHEMES = set(nh3.ALLOWED_URL_SCHEMES) | {"cid"}
WHITESPACE = re.compile(r"\s+")


def html_to_text(markup: str) -> str:
    """Readable plain text from an HTML body: blocks become lines, tags and scripts go.

    nh3 (html5ever, compiled) first drops every attribute, every tag but
    `STRUCTURE_TAGS`, and scripts and styles with their content. What is left
    is well-formed and regular enough to split with one regex; walking the
    sender's markup with the pure-Python html.parser took most of the CPU of
    an HTML mail.
    """
    try:
        structure = nh3.clean(markup, tags=STRUCTURE_TAGS, attributes={"*": set()}, clean_content_tags=SKIPPED_TAGS)
    except UnicodeEncodeError:  # lone surrogates, which no decoder here produces; a last resort
        return WHITESPACE.sub(" ", html_lib.unescape(re.sub(r"<[^>]*>", " ", markup))).strip()
    text = "".join(_text_parts(STRUCTURE_TAG.split(structure))).replace("\xa0", " ")
    lines = [_quote_marks(line.strip()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _text_parts(pieces: list[str]) -> list[str]:
    """`pieces` from `STRUCTURE_TAG.split`: text, then ("/" or "", tag, text) repeated."""
    pre = quote_depth = 0
    parts = [_text(pieces[0], pre, quote_depth)]
    for slash, tag, text in zip(pieces[1::3], pieces[2::3], pieces[3::3]):
        step = -1 if slash else 1
        if tag == "pre":
            pre += step
        elif tag == "blockquote":
            quote_depth += step
        # Blocks become lines; the other STRUCTURE_TAGS are table cells, set apart by a space.
        parts.append("\n" if tag in BLOCK_TAGS else "" if slash else " ")
        parts.append(_text(text, pre, quote_depth))
    return parts


def _text(escaped: str, pre: int, quote_depth: int) -> str:
    text = html_lib.unescape(escaped)
    text = text if pre else WHITESPACE.sub(" ", text)
    # Quoted history keeps its mark, so it can be told from the new text.
    return "\x00" * quote_depth + text if quote_depth and text.strip() else text


def _quote_marks(line: str) -> str:
    depth = line.count("\x00")
    return ("> " * depth + line.replace("\x00", "").strip()) if depth else line


def sanitize_html(markup: str) -> str:
    """HTML safe to show in an agent's browser: no scripts, handlers or javascript: URLs."""
    return nh3.clean(markup, url_schemes=URL_SCHEMES)


# --- Quoted history and signatures ------------------------------------------

# A line that introduces the quoted message below it, in the languages our
# customers write (top-posting clients: Gmail, Outlook, Apple Mail, Thunderbird).
QUOTE_HEADER = re.compile(
    r"^\s*("
    r"On .{3,200}wrote:|Am .{3,200}schrieb.{0,200}:|Le .{3,200}a écrit ?:|El .{3,200}escribió:|"
    r"Op .{3,200}schreef.{0,100}:|Il .{3,200}ha scritto:|"
    r"-{2,}\s*(Original Message|Ursprüngliche Nachricht|Original Nachricht|Originalnachricht|Message d'origine|"
    r"Mensaje original|Messaggio originale)\s*-{2,}|"
    r"_{20,}"
    r")\s*$",
    re.IGNORECASE,
)
# Outlook's header block: "From: ..." directly followed by "Sent:"/"Date:".
OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De|Van|Da)\s*:\*?\s", re.IGNORECASE)
OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Inviato|To|An)\s*:", re.IGNORECASE)
FORWARD_MARKER = re.compile(r"^\s*-{2,}\s*(Forwarded message|Weitergeleitete Nachricht|Message transféré)", re.IGNORECASE)
SIGNATURE_MARKER = re.compile(r"^-- ?$")  # RFC 3676 §4.3: "-- " alone on a line


def split_reply(text: str) -> tuple[str, str, str]:
    """-> (new text, signature, quoted history).

    Joining the three with newlines gives back the whole text. When a split
    would leave no new text (the whole mail is a quote or a forward), nothing
    is split: an agent must never see an empty message.
    """
    lines = text.split("\n")
    cut = _history_start(lines)
    body, history = lines[:cut], lines[cut:]
    signature: list[str] = []
    for index, line in enumerate(body):
        if SIGNATURE_MARKER.match(line):
            body, signature = body[:index], body[index:]
            break
    new = "\n".join(body).strip()
    if not new:
        return text.strip(), "", ""
    return new, "\n".join(signature).strip(), "\n".join(history).strip()


def _history_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if FORWARD_MARKER.match(line):
            return len(lines)  # a forward is the matter itself, not history
        if QUOTE_HEADER.match(line):
            return index
        if OUTLOOK_FROM.match(line) and any(OUTLOOK_NEXT.match(n) for n in lines[index + 1 : index + 4]):
            return index
        if line.startswith(">") and _only_quotes_follow(lines[index:]):
            return index
    return len(lines)


def _only_quotes_follow(lines: list[str]) -> bool:
    """Bottom quote, not an interleaved answer: nothing but quotes and blank lines follow."""
    rest = [line for line in lines if line.strip()]
    return all(line.startswith(">") for line in rest)
