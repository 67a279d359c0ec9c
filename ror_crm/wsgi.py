import io
import os
import tempfile

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")

BLOCK = 64 * 1024
MALFORMED = b'{"non_field_errors": ["The chunked request body is malformed."]}'


class ChunkedBodies:
    """Gives Django the length of a chunked request body (`Transfer-Encoding: chunked`, no
    Content-Length), which WSGI servers pass on as a stream of unknown length: Django reads such a
    body as empty, so a partner's POST would arrive without its data. The body is read here, to
    memory and past 2.5 MB to a temporary file, up to the limit of its path: an attendee file's
    (IMPORT_MAX_MB) on the admin's import pages, DATA_UPLOAD_MAX_MEMORY_SIZE (the API's 413)
    everywhere else. Reading stops past the limit, and Django refuses the body by its length;
    broken chunk framing is a 400."""

    def __init__(self, application):
        self.application = application

    @staticmethod
    def limit(path: str) -> int:
        from django.conf import settings

        if path.startswith("/admin/") and "import" in path.rstrip("/").rsplit("/", 1)[-1]:
            return (settings.IMPORT_MAX_MB + 1) * 1024 * 1024  # the file and the form around it
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def __call__(self, environ, start_response):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH"):
            from django.conf import settings

            limit = self.limit(environ.get("PATH_INFO", ""))
            body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
            size = 0
            try:
                while size <= limit and (block := environ["wsgi.input"].read(BLOCK)):
                    size += len(block)
                    body.write(block)
            except OSError:  # broken chunk framing (gunicorn's InvalidChunkSize, …) or the client went away
                body.close()
                start_response("400 Bad Request", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(MALFORMED)))])
                return [MALFORMED]
            if size > limit:
                # Not read further; Django answers by the length, as for any body that large: 413
                # under /api/ (partners.middleware), its own 400 elsewhere.
                body.close()
                body = io.BytesIO()
            else:
                body.seek(0)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = body, str(size)
        return self.application(environ, start_response)


application = ChunkedBodies(get_wsgi_application())
