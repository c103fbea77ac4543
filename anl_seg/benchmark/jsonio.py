"""JSON files of the benchmark, written atomically."""
import json
import math
import os
from pathlib import Path

from .errors import BenchmarkError


def finite_or_none(value, digits=None):
    """``float(value)`` (rounded to ``digits``), or ``None`` for NaN/inf
    (JSON has neither)."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return value if digits is None else round(value, digits)


def write_json_atomic(path, data):
    """Write ``data`` as JSON to ``path`` through a temporary file, so a
    reader (or a resumed run) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    temp.write_text(json.dumps(data, indent=2, allow_nan=False) + '\n')
    os.replace(temp, path)
    return path


def read_json(path):
    """The JSON content of ``path``.

    Raises:
        BenchmarkError: Missing or unreadable file.
    """
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise BenchmarkError(f'{path}: cannot read ({exc})') from exc
