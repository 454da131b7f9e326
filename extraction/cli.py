"""`salesbot extract`: JSON lines in, one record per line out.  No database, no network.

Input lines: {"id", "ref_time" (ISO 8601), "text"}.  Output lines: {"id", ...record}.
A line that cannot be processed yields {"id", "error"} and the run continues.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

from .extractor import extract


def _load_index(customers_csv: str | None) -> Any:
    if not customers_csv:
        return None
    from .customers import CustomerIndex, load_customers_csv
    return CustomerIndex(load_customers_csv(customers_csv))


def extract_main(customers_csv: str | None, stdin: TextIO, stdout: TextIO) -> int:
    """Process every line of `stdin`; return 0, or 2 when the customer file is unusable."""
    try:
        index = _load_index(customers_csv)
    except Exception as exc:  # noqa: BLE001  # bad path / bad CSV: nothing can be matched
        stdout.write(json.dumps({"id": None, "error": f"customers: {exc}"}, ensure_ascii=False) + "\n")
        return 2
    for lineno, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        rid: Any = None
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise TypeError("line is not a JSON object")
            rid = obj.get("id")
            text = obj.get("text")
            if not isinstance(text, str):
                raise TypeError("missing or non-string 'text'")
            rt = obj.get("ref_time")
            if not isinstance(rt, str):
                raise TypeError("missing or non-string 'ref_time'")
            ref_time = datetime.fromisoformat(rt)
            rec = extract(text, ref_time=ref_time, customers=index).to_record()
            out = {"id": rid, **rec}
        except Exception as exc:  # noqa: BLE001
            out = {"id": rid if rid is not None else f"line{lineno}", "error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0
