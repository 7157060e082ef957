"""CSV downloads: user text never runs as a formula, and rows stream as they are read."""

import csv
import io

from core.spreadsheets import csv_download, csv_safe


def test_text_a_spreadsheet_would_run_is_neutralised():
    for risky in ("=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"):
        assert csv_safe(risky) == f"'{risky}"
    assert csv_safe("Acme = best") == "Acme = best"


def test_rows_are_read_only_as_the_response_is_sent():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield [n, f"row {n}"]

    response = csv_download("x.csv", ["n", "text"], rows())
    assert response.streaming and read == []
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"n,text\r\n" and read == []
    assert next(chunks) == b"0,row 0\r\n" and read == [0]
    rest = b"".join(chunks).decode()
    assert list(csv.reader(io.StringIO(rest))) == [["1", "row 1"], ["2", "row 2"]]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
