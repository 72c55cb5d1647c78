"""Serving a stored file to a reader the caller has already checked (ticket attachments): never through a public
media URL, always through a view that asks who is reading.

Only types a browser shows without interpreting markup are shown in the page (images, PDF); everything else — text,
Markdown, CSV, spreadsheets, anything unknown — is a download (``Content-Disposition: attachment``), so an uploaded
file can never be rendered as HTML on this site. The content type comes from the server's own record (never from the
uploader), ``nosniff`` stops the browser from guessing another, and the file's own policy forbids scripts outright.
"""

from __future__ import annotations

from django.http import FileResponse, Http404

# Shown in the browser (Content-Disposition: inline); any other type is downloaded.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "application/pdf"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/csv"})
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'self'"


def stored_file_response(field_file, *, name: str, content_type: str) -> FileResponse:
    """A streamed response for ``field_file`` (a FileField's file), 404 when the file is gone from storage."""
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, ValueError) as exc:  # ValueError: the field holds no file
        raise Http404("The file is no longer stored.") from exc
    header = f"{content_type}; charset=utf-8" if content_type in TEXT_TYPES else content_type
    response = FileResponse(handle, as_attachment=content_type not in INLINE_TYPES, filename=name,
                            content_type=header or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-cache"
    # django-csp leaves a policy the view set alone: the file gets a stricter one than the pages.
    response["Content-Security-Policy"] = FILE_POLICY
    return response
