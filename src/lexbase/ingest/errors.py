"""Why a file is refused (at upload) or a document fails (in the pipeline). Codes are stable."""

from __future__ import annotations

from lexbase.core.errors import (
    LexbaseError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)


class FileRejected(LexbaseError):
    """Base of every refusal of a file's content."""

    status_code = 422
    code = "file_rejected"
    default_message = "The file cannot be processed"


class EmptyFile(FileRejected):
    code = "empty_file"
    default_message = "The file is empty"


class UnsupportedFileType(UnsupportedMediaType):
    code = "unsupported_media_type"
    default_message = "Unsupported file type; upload PDF, DOCX, DOC, HTML or plain text"


class NoDocConverter(UnsupportedFileType):
    default_message = "Legacy .doc files need LibreOffice on the server; convert to DOCX or PDF"


class EncryptedPdf(FileRejected):
    code = "encrypted_pdf"
    default_message = "The PDF is password-protected; upload an unencrypted copy"


class CorruptFile(FileRejected):
    code = "corrupt_file"
    default_message = "The file is damaged and cannot be read"


class TooManyPages(FileRejected):
    code = "too_many_pages"
    default_message = "The document has more pages than allowed"


class DecompressionBomb(FileRejected):
    code = "decompression_bomb"
    default_message = "The file expands to more data than allowed"


class TextTooLong(FileRejected):
    code = "text_too_long"
    default_message = "The document's text exceeds the allowed length"


class NotText(FileRejected):
    code = "not_text"
    default_message = "The file is not readable text in a known encoding"


class FileTooLarge(PayloadTooLarge):
    default_message = "The file exceeds the upload size limit"


def public_message(error: FileRejected | UnsupportedFileType) -> str:
    """What every reader of a failed document is told: its class's fixed sentence. The
    instance's own message (counts, page numbers) is for the uploader's response and logs."""
    return type(error).default_message


__all__ = [
    "CorruptFile",
    "DecompressionBomb",
    "EmptyFile",
    "EncryptedPdf",
    "FileRejected",
    "FileTooLarge",
    "NoDocConverter",
    "NotText",
    "TextTooLong",
    "TooManyPages",
    "UnsupportedFileType",
    "ValidationFailed",
    "public_message",
]
