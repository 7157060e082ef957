"""PDF documents with WeasyPrint, from the same templates and print CSS as the print pages.

A document's stylesheets and images are read from the app's own static files (the
staticfiles finders, or STATIC_ROOT after collectstatic) and data: URIs (the letterhead's
logo); every other URL is refused, so rendering never touches the network.
"""

import gc
import logging
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

# An origin no network can answer: "/static/…" in a template resolves under it, and only
# the fetcher below serves it.
BASE_URL = "https://documents.invalid/"


class RefusedURL(ValueError):
    """A document asked for something other than the app's static files or a data: URI."""


def static_file(url: str) -> Path | None:
    """The file behind a static URL under BASE_URL, or None when it is not one."""
    parts = urlsplit(url)
    # STATIC_URL is a path ("/static/") under BASE_URL, or an absolute URL served here too.
    static = urlsplit(urljoin(BASE_URL, settings.STATIC_URL))
    if (parts.scheme, parts.netloc) != (static.scheme, static.netloc):
        return None
    if not parts.path.startswith(static.path):
        return None
    name = unquote(parts.path.removeprefix(static.path))
    try:
        found = finders.find(name)
        if found is None and staticfiles_storage.exists(name):
            # Hashed names (ManifestStaticFilesStorage) exist only in STATIC_ROOT.
            found = staticfiles_storage.path(name)
    except SuspiciousFileOperation:
        return None
    return Path(found) if found else None


class StaticFilesFetcher(URLFetcher):
    """WeasyPrint's URL fetcher limited to static files and data: URIs."""

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = static_file(url)
        if path is None:
            logger.warning("PDF rendering refused %s (only static files and data: URIs)", url)
            raise RefusedURL(f"Documents load only the app's static files, not {url}.")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


_pause_lock = threading.Lock()
_renders_running = 0
_collector_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while documents render.

    A long invoice builds hundreds of thousands of small objects, and the collector's
    passes over them cost about a third of the render (benchmarks/documents.py); the
    objects are freed by reference counting or by the next collection after the render.
    """
    global _renders_running, _collector_was_enabled
    with _pause_lock:
        if _renders_running == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _renders_running += 1
    try:
        yield
    finally:
        with _pause_lock:
            _renders_running -= 1
            if _renders_running == 0 and _collector_was_enabled:
                gc.enable()


def render_pdf(template_name: str, context: dict) -> bytes:
    """The template rendered as a PDF; the template sees `pdf` = True (to hide the print
    page's buttons) and loads its CSS through {% static %} as the print page does."""
    with _collector_paused():
        html = render_to_string(template_name, {**context, "pdf": True})
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesFetcher())
        return document.write_pdf()
