"""`salesbot match`: JSON lines {"id","name"} in, one match decision per line out."""
from __future__ import annotations

import json
from typing import TextIO

from .customers import CustomerIndex, load_customers_csv


def _answer(index: CustomerIndex, line: str) -> dict:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"id": None, "error": f"invalid JSON: {exc.msg}"}
    if not isinstance(obj, dict):
        return {"id": None, "error": "line is not a JSON object"}
    qid = obj.get("id")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return {"id": qid, "error": "missing or empty 'name'"}
    region = obj.get("region") if isinstance(obj.get("region"), str) else None
    res = index.match(name, region)
    cands = ([res.best] if res.best else []) + list(res.alternates)
    return {
        "id": qid,
        "match_id": res.best.id if res.best else None,
        "score": round(res.score, 4),
        "candidates": [{"id": c.id, "name": c.name, "score": c.score} for c in cands],
    }


def match_main(customers_csv: str, stdin: TextIO, stdout: TextIO) -> int:
    """Match every input line; a bad line gets {"id","error"} and the run goes on. Returns 0."""
    index = CustomerIndex(load_customers_csv(customers_csv))
    for line in stdin:
        if not line.strip():
            continue
        try:
            out = _answer(index, line)
        except Exception as exc:  # noqa: BLE001 - one bad name must not stop a batch
            out = {"id": None, "error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0
