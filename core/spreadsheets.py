"""What the shop's CSV downloads share: cells a spreadsheet must never run as formulas, and
a response that streams its rows (the first byte leaves before the last row is read, and
memory stays flat however many rows there are)."""

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Keep a spreadsheet from running text typed by a user as a formula."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value


class _Line:
    """A file-like target for csv.writer whose write() hands back the line it was given."""

    def write(self, value: str) -> str:
        return value


def csv_download(
    filename: str, header: Sequence, rows: Iterable[Sequence]
) -> StreamingHttpResponse:
    """A CSV attachment streamed row by row: `rows` is consumed lazily, so pass an
    iterator (a queryset's .iterator(), a generator), never a list built up front."""
    writer = csv.writer(_Line())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
