"""Raw RFC 5322 bytes to a `ParsedMail`: a pure function with no database and no clock.

Mail from the outside is often broken: wrong or unknown charsets, 8-bit bytes in headers, bad
base64, missing headers. Everything that can be read is read, and what cannot becomes replacement
characters. Only a message with no usable headers or no sender raises `ParseError` (with a reason);
the service then quarantines it with its raw bytes. No other exception leaves `ingest`.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy, quoprimime
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

import nh3


class ParseError(Exception):
    """The message cannot be turned into a case message; `reason` says why."""

    def __init__(self, reason: str, *, subject: str = "", message_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        # What could still be read, so administrators can tell quarantined mail apart.
        self.subject = subject
        self.message_id = message_id


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: str
    references: list[str]
    from_address: str
    from_name: str
    subject: str
    date: datetime | None
    text: str
    html: str  # sanitised with nh3; empty when the mail had no HTML part
    attachments: list[ParsedAttachment] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)  # declared, normalised codec names
    content_language: str = ""
    is_auto_reply: bool = False
    is_bounce: bool = False
    noise_reason: str = ""  # why it is an auto-reply or a bounce

    @property
    def is_noise(self) -> bool:
        return self.is_auto_reply or self.is_bounce

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, the most recent first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [r for r in reversed(self.references) if r not in ids]
        return ids


# ---------------------------------------------------------------- charsets

# Labels as mail clients write them, mapped to the codec that decodes what they actually send.
# As in browsers (WHATWG), Latin-1 and ASCII labels are read as windows-1252 and TIS-620 as
# windows-874, its superset: senders label the superset with the older name.
_CHARSET_ALIASES = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "tis-620": "cp874",
    "tis620": "cp874",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "iso-8859-11": "cp874",
    "cp874": "cp874",
    "x-user-defined": "cp1252",
}
_THAI_CODECS = {"cp874", "tis-620", "iso8859-11"}
_CYRILLIC_CODECS = {"koi8-r", "koi8-u", "cp1251", "iso8859-5", "cp866", "mac-cyrillic"}


def codec_for(label: str | None) -> str | None:
    """The Python codec for a declared charset label, or None when it is unknown."""
    label = (label or "").strip().strip("\"'").lower()
    if not label:
        return None
    if label in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[label]
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode with the declared charset; UTF-8 when it is missing or unknown; never raises.

    NUL characters are dropped: PostgreSQL refuses them in text.
    """
    return _decode(data, label).replace("\x00", "")


def _decode(data: bytes, label: str | None) -> str:
    codec = codec_for(label)
    if codec is not None and codec != "cp1252":
        try:
            return data.decode(codec, errors="replace")
        except Exception:  # a codec that is not a text codec (e.g. "rot13", "zlib")
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec == "cp1252":
        return data.decode("cp1252", errors="replace")
    return data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- headers


def _unescape(value: str, fallback: str | None) -> str:
    """Header text read with surrogateescape holds raw 8-bit bytes: decode them properly."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return decode_bytes(value.encode("utf-8", errors="surrogateescape"), fallback)
    return value


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _decode_word(match: re.Match[str], fallback: str | None) -> str:
    charset, encoding, payload = match.group(1).split("*")[0], match.group(2).lower(), match.group(3)
    try:
        if encoding == "b":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = quoprimime.header_decode(payload).encode("latin-1")
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return match.group(0)  # a broken encoded word stays as it was written
    return decode_bytes(data, charset or fallback)


def decode_header_text(value: str | None, fallback: str | None = None) -> str:
    """RFC 2047 encoded words (and raw 8-bit bytes) to text, on one line.

    Written out rather than email.header.decode_header, which mangles headers that mix encoded
    words with raw non-ASCII text and raises on broken words.
    """
    value = _unescape(str(value or ""), fallback)
    parts: list[str] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        if not (parts and between.strip() == ""):  # white space between encoded words is dropped
            parts.append(between)
        parts.append(_decode_word(match, fallback))
        position = match.end()
    parts.append(value[position:])
    return " ".join("".join(parts).replace("\x00", "").split())


_MSGID = re.compile(r"<[!-;=?-~]{1,290}>")  # printable ASCII without < and >


def _message_ids(value: str) -> list[str]:
    return _MSGID.findall(value or "")


def _raw(msg: Message, name: str) -> str:
    value = msg.get(name)
    return str(value) if value is not None else ""


def _raw_headers(msg: Message) -> dict[str, str]:
    """First value of every header, undecoded, keyed by lower-case name."""
    seen: dict[str, str] = {}
    for key, value in msg.raw_items():  # type: ignore[attr-defined]
        seen.setdefault(str(key).lower(), str(value))
    return seen


# ---------------------------------------------------------------- HTML to text


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A readable plain-text version of an HTML body: blocks become lines, markup goes."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)
    lines = [line.strip() for line in "".join(extractor.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def sanitise_html(html: str) -> str:
    return nh3.clean(html).strip()


# ---------------------------------------------------------------- noise: auto-replies and bounces

# Only at the start of the subject, where responders put it ("Automatic reply: <subject>"), so a
# customer writing "Re: my automatic reply does not work" is not mistaken for one.
_OUT_OF_OFFICE = re.compile(
    r"^\s*(auto(matic)?[\s_-]*(reply|response|answer)\s*:|autoreply\b|out of (the )?office\b|"
    r"away from (the )?office\b|ตอบกลับอัตโนมัติ|ไม่อยู่ที่สำนักงาน|ไม่อยู่ออฟฟิศ|"
    r"автоответ|автоматический ответ|вне офиса|нет на месте|"
    r"respuesta automática|fuera de (la )?oficina|ausente de la oficina)",
    re.IGNORECASE,
)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autogenerated", "x-autoreply-from", "x-mail-autoreply")
_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)


def _noise(headers: dict[str, str], subject: str, from_address: str, msg: Message) -> tuple[bool, bool, str]:
    """(is_auto_reply, is_bounce, reason), judged from headers, sender and subject."""
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    if content_type == "multipart/report" and report_type in ("delivery-status", ""):
        return False, True, "bounce: multipart/report delivery-status"
    if any(part.get_content_type() == "message/delivery-status" for part in _leaves(msg)):
        return False, True, "bounce: message/delivery-status part"
    if _DAEMONS.match(from_address):
        return False, True, f"bounce: sent by {from_address}"
    if "return-path" in headers and headers["return-path"].strip() in ("<>", ""):
        return False, True, "bounce: empty Return-Path"
    auto_submitted = decode_header_text(headers.get("auto-submitted", "")).split(";")[0].strip().lower()[:60]
    if auto_submitted and auto_submitted != "no":
        return True, False, f"Auto-Submitted: {auto_submitted}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return True, False, f"Precedence: {precedence}"
    for name in _AUTO_HEADERS:
        if name in headers:
            return True, False, f"{name} header"
    if _OUT_OF_OFFICE.search(subject):
        return True, False, "out-of-office subject"
    return False, False, ""


# ---------------------------------------------------------------- bodies and attachments


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _filename(part: Message, fallback_charset: str | None) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        name = part.get_param("name", header="content-type")  # type: ignore[assignment]
        if isinstance(name, tuple):  # RFC 2231 (charset, language, value)
            name = decode_bytes(str(name[2]).encode("latin-1", errors="replace"), name[0])
    return decode_header_text(str(name), fallback_charset) if name else ""


def _safe_filename(name: str) -> str:
    """The last path segment of a sender's file name; empty when nothing usable is left.

    A part named ".." (or "dir/..") made Django's upload wrapper raise SuspiciousFileOperation inside
    `mail_receive`, so the message was neither stored nor quarantined and an IMAP poll retried it
    forever (found by the property tests in test_ingest_property.py).
    """
    last = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "" if last.strip(". ") == "" else last


def _extension_for(content_type: str) -> str:
    return {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/gif": ".gif",
        "image/webp": ".webp",
        "application/pdf": ".pdf",
        "message/rfc822": ".eml",
        "text/plain": ".txt",
        "text/html": ".html",
    }.get(content_type, ".bin")


def _leaves(msg: Message) -> list[Message]:
    """The parts that carry content, without descending into attached messages (message/rfc822):
    a forwarded mail or the original returned in a bounce is an attachment, not the body."""
    if msg.get_content_maintype() == "message" or not msg.is_multipart():
        return [msg]
    found: list[Message] = []
    payload = msg.get_payload()
    for sub in payload if isinstance(payload, list) else []:
        if isinstance(sub, Message):
            found += _leaves(sub)
    return found


def _walk(msg: Message, fallback_charset: str | None) -> tuple[list[str], list[str], list[ParsedAttachment]]:
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part in _leaves(msg):
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part, fallback_charset)
        is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment"
        if is_body_text and not filename:
            text = decode_bytes(_payload(part), part.get_content_charset() or fallback_charset)
            (texts if content_type == "text/plain" else htmls).append(text)
            continue
        if content_type == "message/delivery-status":
            continue
        if content_type == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            content = first.as_bytes(policy=policy.compat32) if isinstance(first, Message) else _payload(part)
        else:
            content = _payload(part)
        if not content:
            continue
        inline = disposition == "inline" or bool(part.get("Content-ID"))
        name = _safe_filename(filename) or f"attachment-{len(attachments) + 1}{_extension_for(content_type)}"
        attachments.append(
            ParsedAttachment(name, content_type, content, inline and disposition != "attachment")
        )
    return texts, htmls, attachments


def _declared_charsets(msg: Message) -> list[str]:
    found: list[str] = []
    for part in msg.walk():
        codec = codec_for(part.get_content_charset())
        label = (part.get_content_charset() or "").lower()
        for name in (codec, label):
            if name and name not in found:
                found.append(name)
    return found


# ---------------------------------------------------------------- the parser


def ingest(raw: bytes) -> ParsedMail:
    """Parse raw message bytes. Raises only `ParseError`."""
    try:
        return _ingest(raw)
    except ParseError:
        raise
    except Exception as exc:  # a parser bug on hostile input must quarantine, not crash
        reason = f"unreadable message ({type(exc).__name__}: {exc})"[:500]
        raise ParseError(reason.encode("utf-8", errors="replace").decode().replace("\x00", "")) from exc


def _ingest(raw: bytes) -> ParsedMail:
    if not raw or not raw.strip():
        raise ParseError("empty message")
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    headers = _raw_headers(msg)
    if not headers:
        raise ParseError("no headers")
    charsets = _declared_charsets(msg)
    fallback = next((c for c in charsets if c not in ("cp1252", "us-ascii", "utf-8")), None)

    from_header = _unescape(headers.get("from", ""), fallback)
    addresses = [
        (n, a) for n, a in getaddresses([from_header]) if "@" in a and " " not in a.strip() and len(a) <= 254
    ]
    subject = decode_header_text(headers.get("subject", ""), fallback)
    ids = _message_ids(headers.get("message-id", ""))
    if not addresses:
        raise ParseError("no sender address (From)", subject=subject, message_id=ids[0] if ids else "")
    from_name, from_address = addresses[0]
    from_address = decode_header_text(from_address).replace(" ", "").lower()
    from_name = decode_header_text(from_name, fallback).strip("\"' ")[:200]
    in_reply_to = _message_ids(headers.get("in-reply-to", ""))
    try:
        date = parsedate_to_datetime(headers["date"]) if "date" in headers else None
    except (TypeError, ValueError, IndexError, OverflowError):
        date = None

    texts, htmls, attachments = _walk(msg, fallback)
    html = "\n".join(htmls)
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    is_auto, is_bounce, reason = _noise(headers, subject, from_address, msg)
    return ParsedMail(
        message_id=ids[0] if ids else "",
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=_message_ids(headers.get("references", "")),
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        date=date,
        text=text.replace("\x00", ""),
        html=sanitise_html(html) if html.strip() else "",
        attachments=attachments,
        charsets=charsets,
        content_language=headers.get("content-language", "").strip().lower()[:20],
        is_auto_reply=is_auto,
        is_bounce=is_bounce,
        noise_reason=reason,
    )


def guess_language(mail: ParsedMail) -> str:
    """The customer's language from the mail: Thai or Cyrillic script or charset, else English."""
    if any(c in _THAI_CODECS for c in mail.charsets) or mail.content_language.startswith("th"):
        return "th"
    if any(c in _CYRILLIC_CODECS for c in mail.charsets) or mail.content_language.startswith("ru"):
        return "ru"
    sample = f"{mail.subject} {mail.text[:2000]}"
    thai = sum(1 for ch in sample if "\u0e00" <= ch <= "\u0e7f")
    cyrillic = sum(1 for ch in sample if "\u0400" <= ch <= "\u04ff")
    if thai and thai >= cyrillic:
        return "th"
    if cyrillic:
        return "ru"
    if mail.content_language.startswith("es"):
        return "es"
    return "en"
