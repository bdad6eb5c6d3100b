"""Atomic output files: a reader never sees a half-written file.

Each writer writes to a temporary file in the target folder and renames it over the
target (``os.replace`` is atomic on POSIX and Windows), so a crash mid-write leaves
either the old complete file or none. The file gets the permissions any new file
of the user gets (0666 less the umask: group-readable as usual), not the private 0600
of a temporary file.

CSV files are made for spreadsheets as much as for code: UTF-8 *with* a byte-order
mark (``utf-8-sig``, so Excel shows 东城区 and not mojibake; read them back with
:data:`CSV_ENCODING`, as :func:`analysis.rundir.read_csv` does), and every cell is
formatted by one rule, :func:`csv_cell`: booleans as ``1``/``0``, integers as
integers, floats with 6 significant digits (no 17-digit noise; a float holding a whole
number is written as that integer, large values without an exponent), NaN and
infinities as ``nan``/``inf``/``-inf``, None as an empty cell.
"""
from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import tempfile
from pathlib import Path

import numpy as np

#: Encoding of the CSV files the project writes (UTF-8 with BOM); read them with it too:
#: plain "utf-8" would keep the BOM as a "\ufeff" in the first header name.
CSV_ENCODING = "utf-8-sig"
#: Significant digits of a float in a CSV cell.
CSV_FLOAT_DIGITS = 6


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions of a new output file: what open() would give it.
FILE_MODE = 0o666 & ~_umask()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode())


def _empty_cell(value) -> str:
    return ""


def _bool_cell(value) -> str:
    return "1" if value else "0"


def _int_cell(value) -> str:
    return str(int(value))


def _float_cell(value) -> str:
    x = float(value)
    if not math.isfinite(x):
        return str(x)  # nan, inf, -inf: what the readers parse with float()
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    text = format(x, _FLOAT_FORMAT)
    if "e+" in text and abs(x) < 1e15:  # 1.02373e+06 -> 1023730: a spreadsheet's number
        text = str(int(float(text)))
    return text


def _as_is(value):
    return value


_FLOAT_FORMAT = f".{CSV_FLOAT_DIGITS}g"


def _cell_formatter(value):
    """Which of the rule's formatters a value of ``type(value)`` takes (the rule: the
    module doc), decided by ``isinstance`` as the rule states it."""
    if value is None:
        return _empty_cell
    if isinstance(value, (bool, np.bool_)):
        return _bool_cell
    if isinstance(value, numbers.Integral):
        return _int_cell
    if isinstance(value, (float, np.floating)):
        return _float_cell
    return _as_is


#: The formatter of each type met so far. A table has few types and many cells: one
#: dictionary look-up per cell instead of up to five isinstance tests (the default run
#: formats ~400,000 cells; this made it ~4x faster, tests/test_io.py checks the bytes).
_FORMATTERS: dict[type, object] = {}


def _formatter(value):
    kind = type(value)
    fmt = _FORMATTERS.get(kind)
    if fmt is None:
        fmt = _FORMATTERS[kind] = _cell_formatter(value)
    return fmt


def csv_cell(value):
    """One value as it goes into a CSV cell (see the module doc): the one formatting
    rule of every table the project writes."""
    return _formatter(value)(value)


def write_csv_atomic(path: Path, header: list[str], rows) -> None:
    """A CSV table in UTF-8 with BOM, every cell formatted by :func:`csv_cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    get, formatter = _FORMATTERS.get, _formatter
    writer.writerows([(get(type(v)) or formatter(v))(v) for v in row] for row in rows)
    write_bytes_atomic(path, buf.getvalue().encode(CSV_ENCODING))


def json_ready(obj):
    """``obj`` for JSON: tuples as lists, numpy numbers as Python's, NaN/inf as None."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
