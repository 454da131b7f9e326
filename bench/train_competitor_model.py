"""Train the learned competitor model (extraction/competitor_model.py) on our own labelled notes.

    .venv/bin/python bench/train_competitor_model.py                # writes lexicon/competitor_model.txt
    .venv/bin/python bench/train_competitor_model.py --hold dev9    # trains without dev9, scores it, writes nothing

Needs scikit-learn (`pip install -e '.[bench]'`); the product reads the weights with no extra
package.  Training data: the same parts as the stage model (bench/dev3 …, held-out parts left
out, never ../shared/eval).  Every stretch `competitor_model.candidates` yields outside the
note's blocked spans (customer, contacts, dates) is an example, positive when its text is one of
the note's gold competitors (NFKC, no spaces, lower case, as the scorer compares).  The
blocked spans are those `extract()` passes to `find_competitors`, captured with the model off.
"""
from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import model_cli  # noqa: E402
from train_stage_model import _notes  # noqa: E402

from extraction import competitor_model, competitors  # noqa: E402
from extraction import extractor as extractor_mod  # noqa: E402
from extraction.types import Span  # noqa: E402

C = 3.0  # inverse L2 strength, from --hold runs on dev9 (bench/RESULTS.md)
THRESHOLD = 0.3  # probability from which a stretch is a competitor, chosen the same way


@dataclass(frozen=True, slots=True)
class Example:
    """One note as find_competitors sees it, with its gold names."""
    text: str
    blocked: tuple[Span, ...]
    known: tuple[str, ...]
    gold: frozenset[str]


def norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split()).lower()


def _examples(part: Path) -> Iterator[Example]:
    """The part's notes through extract(), capturing find_competitors' input (model off)."""
    from extraction.cli import _load_index

    idx = _load_index(str(part / "customers.csv"))
    seen: list[tuple[str, tuple[Span, ...], tuple[str, ...]]] = []
    real = extractor_mod.find_competitors

    def spy(text, blocked=(), *, known=()):  # type: ignore[no-untyped-def]
        seen.append((text, tuple(blocked), tuple(known)))
        return []

    extractor_mod.find_competitors = spy  # type: ignore[assignment]
    try:
        for n in _notes(part):
            seen.clear()
            extractor_mod.extract(n["text"], ref_time=datetime.fromisoformat(n["ref_time"]), customers=idx)
            text, blocked, known = seen[0]
            yield Example(text, blocked, known, frozenset(norm(g) for g in n["gold"]["competitors"]))
    finally:
        extractor_mod.find_competitors = real  # type: ignore[assignment]


def _rows(examples: list[Example]) -> tuple[list[dict[str, int]], list[int]]:
    xs, ys = [], []
    for ex in examples:
        blk = [(s.start, s.end) for s in ex.blocked]
        names = competitors._blocked_names(ex.text, blk)
        view = competitors.learned_view(ex.text)
        for c in view.candidates():
            if not competitors._form_ok(ex.text, c.start, c.end, blk, names):
                continue  # the finder never scores these
            xs.append(dict.fromkeys(view.features(c), 1))
            ys.append(int(norm(ex.text[c.start:c.end]) in ex.gold))
    return xs, ys


def fit(examples: list[Example], threshold: float = THRESHOLD) -> competitor_model.Model:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    xs, ys = _rows(examples)
    vec = DictVectorizer()
    lr = LogisticRegression(C=C, max_iter=5000).fit(vec.fit_transform(xs), ys)
    weights = {f: round(float(w), 4) for f, w in zip(vec.get_feature_names_out(), lr.coef_[0]) if abs(w) >= 0.01}
    return competitor_model.Model(round(float(lr.intercept_[0]), 4), threshold, weights)


def f1(examples: list[Example], mdl: competitor_model.Model | None) -> tuple[float, float, float]:
    """Set F1 (P, R) of find_competitors with `mdl` as the learned model (None: constructions only)."""
    tp = fp = fn = 0
    with model_cli.model_in_use(competitor_model, mdl):
        for ex in examples:
            got = {norm(t.text) for t in competitors.find_competitors(ex.text, ex.blocked, known=ex.known)}
            tp += len(got & ex.gold)
            fp += len(got - ex.gold)
            fn += len(ex.gold - got)
    return model_cli.f1_p_r(tp, fp, fn)

def write(mdl: competitor_model.Model, path: Path, n_notes: int) -> str:
    lines = ["# Competitor model: logistic regression over a stretch's neighbouring tokens and shape,",
             f"# written by bench/train_competitor_model.py from {n_notes} of our own notes; retrain it,",
             "# do not edit it.  Lines: feature<TAB>weight.",
             f"@bias {mdl.bias}", f"@threshold {mdl.threshold}"]
    lines += [f"{f}\t{w}" for f, w in sorted(mdl.weights.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"{len(mdl.weights)} weights"


if __name__ == "__main__":
    model_cli.main(model_cli.Trainer(__doc__ or "", competitor_model.MODEL_FILE, THRESHOLD, _examples, fit, f1, write,
                                     "competitors F1 / P / R", "constructions only"))
