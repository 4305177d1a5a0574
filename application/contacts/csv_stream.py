"""CSV records from a stream of bytes, with bounded memory.

Bytes arrive in pieces of any size. Each piece is decoded incrementally
(UTF-8, a byte-order mark dropped), and only the text up to the last newline
that ends a record is parsed: a newline inside a quoted field does not, which
is told by the parity of the quotes before it (a quote inside a quoted field
is written twice). The rest waits for the next piece. So memory holds one
piece and one partial record, never the file.
"""

from __future__ import annotations

import codecs
import csv
import io

from application.errors import ValidationFailed

# A record (a line, or a quoted multi-line field) longer than this is refused:
# it bounds what waits for its end.
MAX_RECORD_CHARS = 65_536


class CsvRecords:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._pending = ""
        self._lines_done = 0

    def feed(self, data: bytes) -> list[tuple[int, list[str]]]:
        """Complete records so far, each with the line it starts on (from 1)."""
        text = self._pending + self._decode(data, final=False)
        cut = _end_of_complete_records(text)
        self._pending = text[cut:]
        if len(self._pending) > MAX_RECORD_CHARS:
            raise ValidationFailed(
                f"A CSV record is at most {MAX_RECORD_CHARS} characters",
                line=self._lines_done + 1,
            )
        return self._parse(text[:cut])

    def finish(self) -> list[tuple[int, list[str]]]:
        text = self._pending + self._decode(b"", final=True)
        self._pending = ""
        if text.count('"') % 2:
            raise ValidationFailed(
                "The CSV ends inside a quoted field", line=self._lines_done + 1
            )
        return self._parse(text)

    def _decode(self, data: bytes, *, final: bool) -> str:
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError as error:
            raise ValidationFailed(
                "The CSV is not UTF-8 text", line=self._lines_done + 1
            ) from error

    def _parse(self, text: str) -> list[tuple[int, list[str]]]:
        if not text:
            return []
        reader = csv.reader(io.StringIO(text, newline=""), strict=False)
        records: list[tuple[int, list[str]]] = []
        before = 0
        try:
            for fields in reader:
                records.append((self._lines_done + before + 1, fields))
                before = reader.line_num
        except csv.Error as error:
            raise ValidationFailed(
                f"The CSV cannot be read: {error}", line=self._lines_done + before + 1
            ) from error
        self._lines_done += reader.line_num
        return records


def _end_of_complete_records(text: str) -> int:
    """The index just after the last newline outside quotes (0 if none)."""
    end = quotes = position = 0
    while True:
        newline = text.find("\n", position)
        if newline < 0:
            return end
        quotes += text.count('"', position, newline)
        if quotes % 2 == 0:
            end = newline + 1
        position = newline + 1
