"""Fast writing of many FITS files of one layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from brainstar.core.atomic import atomic_path
from brainstar.domain.astro.formats import bintable_dtype

FITS_BLOCK = 2880


def _padded(data: bytes, fill: bytes = b"\0") -> bytes:
    return data + fill * (-len(data) % FITS_BLOCK)


class TemplateWriter:
    """Writes many files of one layout from one HDU list built the ordinary way.

    Building astropy table HDUs costs ~50 ms per file (header card validation), and even
    refilling a built list costs ~50 ms for a 127-column table, because astropy re-checks
    every column's keywords on write. So the first file of a layout is built and written
    by astropy; later files reuse its table headers as bytes, re-render only the headers
    given ``cards``, and encode table rows with numpy in the on-disk (big-endian) layout of
    :func:`formats.bintable_dtype`. Every file therefore has the first one's cards and formats.
    """

    def __init__(self) -> None:
        self._signature: tuple[Any, ...] | None = None
        self._headers: list[fits.Header] = []
        self._header_bytes: list[bytes] = []
        self._data_bytes: list[bytes] = []
        self._dtypes: list[np.dtype | None] = []

    def _build(self, target: Path, build: Callable[[], fits.HDUList]) -> None:
        hdul = build()
        with atomic_path(target) as tmp:
            hdul.writeto(tmp, overwrite=True, output_verify="ignore")
        # Read back what astropy wrote, so the cached bytes are exactly the file's.
        with fits.open(target, memmap=False) as written:
            raw = target.read_bytes()
            self._headers, self._header_bytes, self._data_bytes, self._dtypes = [], [], [], []
            for index, hdu in enumerate(written):
                info = written.fileinfo(index)
                start, data_start = int(info["hdrLoc"]), int(info["datLoc"])
                self._headers.append(hdu.header.copy())
                self._header_bytes.append(raw[start:data_start])
                self._data_bytes.append(raw[data_start : data_start + int(info["datSpan"])])
                self._dtypes.append(bintable_dtype(hdu.header) if isinstance(hdu, fits.BinTableHDU) else None)

    def _table_bytes(self, index: int, columns: dict[str, Any]) -> bytes:
        dtype = self._dtypes[index]
        if dtype is None:
            raise ValueError(f"HDU {index} of the template is not a plain binary table")
        n_rows = len(next(iter(columns.values())))
        rows = np.zeros(n_rows, dtype=dtype)
        for name, values in columns.items():
            rows[name] = values
        return _padded(rows.tobytes())

    def write(
        self,
        target: Path,
        cards: dict[int, dict[str, Any]],
        tables: dict[int, dict[str, Any]],
        build: Callable[[], fits.HDUList],
    ) -> Path:
        signature = tuple((i, tuple(t), len(next(iter(t.values()), []))) for i, t in sorted(tables.items()))
        if signature != self._signature:
            self._build(target, build)
            self._signature = signature
            return target
        parts = []
        for index, header in enumerate(self._headers):
            if index in cards:
                header = header.copy()
                header.update(cards[index])
                parts.append(header.tostring().encode("ascii"))
            else:
                parts.append(self._header_bytes[index])
            parts.append(
                self._table_bytes(index, tables[index]) if index in tables else self._data_bytes[index]
            )
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"".join(parts))
        return target
