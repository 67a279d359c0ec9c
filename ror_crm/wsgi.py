import os
import tempfile

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")

BLOCK = 64 * 1024


class ChunkedBodies:
    """Gives Django the length of a chunked request body (`Transfer-Encoding: chunked`, no
    Content-Length), which WSGI servers pass on as a stream of unknown length: Django reads such a
    body as empty, so a partner's POST would arrive without its data. The body is read here, to
    memory and past 2.5 MB to a temporary file, up to the largest body the app takes (an attendee
    import's file); one larger is refused with 413 before Django sees it. The API's own limit
    then applies as for any body (413, partners.middleware)."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH"):
            from django.conf import settings

            limit = max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.IMPORT_MAX_MB * 1024 * 1024) + 1024 * 1024
            body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
            size = 0
            while block := environ["wsgi.input"].read(BLOCK):
                size += len(block)
                if size > limit:
                    body.close()
                    start_response("413 Request Entity Too Large", [("Content-Type", "application/json")])
                    return [b'{"detail": "The request body is too large."}']
                body.write(block)
            body.seek(0)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = body, str(size)
        return self.application(environ, start_response)


application = ChunkedBodies(get_wsgi_application())
