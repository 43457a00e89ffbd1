"""Attachment checks: size and type, the type judged by content (magic bytes), not by the name."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence

import puremagic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from steward.core.errors import DomainError

# Content type by what the bytes say. Plain text has no magic number, so it is accepted only
# when it decodes as UTF-8 and carries no NUL bytes.
ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
}
ZIP_BASED = {".docx", ".xlsx", ".zip"}
SNIFF_BYTES = 8192


def clean_filename(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"/|?*')
    return base.strip(" .")[:200] or "attachment"


# Executables and scripts are refused whatever else their bytes might pass for.
EXECUTABLE_PREFIXES = (
    b"MZ",  # Windows / DOS executables
    b"\x7fELF",  # Linux executables
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal / Java class
    b"#!",  # scripts
)
TEXT_CONTROLS = {"\t", "\n", "\r", "\f", "\v", "\x1b"}


def _is_text(head: bytes, *, complete: bool) -> bool:
    """UTF-8 without NUL bytes or other control characters (tabs, line breaks and ESC aside)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of a sample is still text; an error elsewhere is not.
        if complete or exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return not any(unicodedata.category(ch) == "Cc" and ch not in TEXT_CONTROLS for ch in text)


def sniff_content_type(head: bytes, *, complete: bool = False) -> str | None:
    """Return the allowed content type these first bytes show, or None.

    `complete` says `head` is the whole file, so a broken character at its end is not a cut sample.
    """
    if not head or head.startswith(EXECUTABLE_PREFIXES):
        return None
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    for match in matches:
        ext = (match.extension or "").lower()
        if ext in ALLOWED_TYPES:
            if ext in ZIP_BASED:
                return "application/zip"
            return ALLOWED_TYPES[ext]
    if _is_text(head, complete=complete):
        return "text/plain"
    return None


def validate_upload(upload: UploadedFile) -> str:
    """Check one upload; return its content type or raise a DomainError on the `attachments` field."""
    limit = settings.STEWARD_ATTACHMENT_MAX_BYTES
    name = clean_filename(upload.name or "")
    if upload.size is None or upload.size > limit:
        raise DomainError(
            _("%(name)s is too large: the limit is %(limit)d MB a file.")
            % {"name": name, "limit": limit // (1024 * 1024)},
            field="attachments",
            code="too_large",
        )
    if upload.size == 0:
        raise DomainError(_("%(name)s is empty.") % {"name": name}, field="attachments")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    content_type = sniff_content_type(head, complete=upload.size <= len(head))
    if content_type is None:
        raise DomainError(
            _("%(name)s is not an allowed file type (PDF, images, plain text, Office documents).")
            % {"name": name},
            field="attachments",
            code="forbidden_type",
        )
    return content_type


def validate_uploads(uploads: Sequence[UploadedFile]) -> list[str]:
    """Check every upload of one request, and their total (STEWARD_ATTACHMENT_REQUEST_MAX_BYTES);
    return their content types or raise a DomainError before anything is stored."""
    types = [validate_upload(u) for u in uploads]  # each file first: the most precise message
    total_limit = settings.STEWARD_ATTACHMENT_REQUEST_MAX_BYTES
    if sum(u.size or 0 for u in uploads) > total_limit:
        raise DomainError(
            _("The files are too large together: the limit is %(limit)d MB a message.")
            % {"limit": total_limit // (1024 * 1024)},
            field="attachments",
            code="too_large",
        )
    return types
