"""Train the learned pain model (extraction/pain_model.py) on our own labelled notes.

    .venv/bin/python bench/train_pain_model.py                # writes lexicon/pain_model.txt
    .venv/bin/python bench/train_pain_model.py --hold dev10   # trains without dev10, scores it, writes nothing

Needs scikit-learn (`pip install -e '.[bench]'`); the product reads the weights with no extra
package.  Training data: the same parts as the stage model (bench/dev3 …, held-out parts left
out, never ../shared/eval).  The cue classes' pains and the clauses come from `extract()` with
the model off; every candidate `pain_model.candidates` yields is an example, labelled with the
category of the gold pain it matches as the scorer matches (IoU of the longest common substring
>= 0.5; the best one), or none.  A binary regression decides pain or not; a multinomial one,
trained on the pains only, gives the category.
"""
from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import model_cli  # noqa: E402
from train_stage_model import _notes  # noqa: E402

from extraction import extractor as extractor_mod  # noqa: E402
from extraction import pain_model  # noqa: E402
from extraction.clauses import Clause  # noqa: E402
from extraction.types import PainPoint  # noqa: E402

C = 1.0  # inverse L2 strength of both regressions, from --hold runs (bench/RESULTS.md)
THRESHOLD = 0.3  # probability from which a candidate is a pain, chosen the same way
MIN_WEIGHT = 0.05  # smaller weights are left out of the file (size, load time)
NONE = "none"


@dataclass(frozen=True, slots=True)
class Example:
    """One note as pain_model.refine sees it, with its gold pains and what extract() returned."""
    text: str
    clauses: tuple[Clause, ...]
    pains: tuple[PainPoint, ...]
    rivals: tuple[str, ...]
    gold: tuple[tuple[str, str], ...]  # (category, text)


def _lcs(a: str, b: str) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def iou(a: str, b: str) -> float:
    """The scorer's span IoU (../shared/eval/README.md §4), on whitespace-free text."""
    a, b = "".join(a.split()), "".join(b.split())
    n = _lcs(a, b)
    return n / (len(a) + len(b) - n) if a and b else 0.0


def _examples(part: Path) -> Iterator[Example]:
    """The part's notes through extract(), capturing refine()'s input (model off)."""
    from extraction.cli import _load_index

    idx = _load_index(str(part / "customers.csv"))
    seen: list[tuple[str, tuple[Clause, ...], tuple[PainPoint, ...], tuple[str, ...]]] = []
    real = pain_model.refine

    def spy(text, clauses, pains, rivals=()):  # type: ignore[no-untyped-def]
        seen.append((text, tuple(clauses), tuple(pains), tuple(rivals)))
        return pains

    pain_model.refine = spy  # type: ignore[assignment]
    try:
        for n in _notes(part):
            seen.clear()
            extractor_mod.extract(n["text"], ref_time=datetime.fromisoformat(n["ref_time"]), customers=idx)
            text, clauses, pains, rivals = seen[0] if seen else (n["text"], (), (), ())
            gold = tuple((g["category"], g["text"]) for g in n["gold"]["pain_points"])
            yield Example(text, clauses, pains, rivals, gold)
    finally:
        pain_model.refine = real  # type: ignore[assignment]


def _label(text: str, c: pain_model.Candidate, gold: tuple[tuple[str, str], ...]) -> str:
    best, best_iou = NONE, 0.0
    for cat, g in gold:
        v = iou(text[c.start:c.end], g)
        if v >= 0.5 and v > best_iou:
            best, best_iou = cat, v
    return best


def _rows(examples: list[Example]) -> tuple[list[Counter[str]], list[str]]:
    xs: list[Counter[str]] = []
    ys: list[str] = []
    for ex in examples:
        note = pain_model.Note(ex.text)
        for c in pain_model.candidates(note.text, ex.clauses, list(ex.pains), ex.rivals):
            xs.append(Counter(pain_model.features(note, c)))  # characters and pairs are counted
            ys.append(_label(note.text, c, ex.gold))
    return xs, ys


def fit(examples: list[Example], threshold: float = THRESHOLD) -> pain_model.Model:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    xs, ys = _rows(examples)
    vec = DictVectorizer()
    x = vec.fit_transform(xs)
    names = vec.get_feature_names_out()
    binary = LogisticRegression(C=C, max_iter=5000).fit(x, [y != NONE for y in ys])
    keep = [i for i, y in enumerate(ys) if y != NONE]
    cats = LogisticRegression(C=C, max_iter=5000).fit(x[keep], [ys[i] for i in keep])
    weights = {f: round(float(w), 4) for f, w in zip(names, binary.coef_[0]) if abs(w) >= MIN_WEIGHT}
    cat_weights = {f: tuple(round(float(w), 3) for w in cats.coef_[:, i]) for i, f in enumerate(names)
                   if max(abs(cats.coef_[:, i])) >= MIN_WEIGHT}
    return pain_model.Model(round(float(binary.intercept_[0]), 4), threshold, weights, tuple(cats.classes_),
                            tuple(round(float(b), 3) for b in cats.intercept_), cat_weights)


def f1(examples: list[Example], mdl: pain_model.Model | None) -> tuple[float, float, float]:
    """Span F1 (P, R) of extract()'s pains with `mdl` as the model (None: cue classes only),
    matched one to one as the scorer does (same category, IoU >= 0.5; greedy)."""
    tp = fp = fn = 0
    with model_cli.model_in_use(pain_model, mdl):
        for ex in examples:
            got = pain_model.refine(ex.text, list(ex.clauses), list(ex.pains), ex.rivals)
            gold = list(ex.gold)
            for p in got:
                hit = next((g for g in gold if g[0] == p.category and iou(p.text, g[1]) >= 0.5), None)
                if hit is None:
                    fp += 1
                else:
                    tp += 1
                    gold.remove(hit)
            fn += len(gold)
    return model_cli.f1_p_r(tp, fp, fn)

def write(mdl: pain_model.Model, path: Path, n_notes: int) -> str:
    lines = ["# Pain model: logistic regressions over a candidate span's characters, context, cue class",
             f"# and lexicons, written by bench/train_pain_model.py from {n_notes} of our own notes;",
             "# retrain it, do not edit it.  Lines: feature<TAB>pain weight<TAB>category weights.",
             f"@bias {mdl.bias}", f"@threshold {mdl.threshold}", "@categories " + " ".join(mdl.categories),
             "@cat_bias " + " ".join(map(str, mdl.cat_bias))]
    for f in sorted(set(mdl.weights) | set(mdl.cat_weights)):
        w = mdl.weights.get(f)
        cw = mdl.cat_weights.get(f)
        lines.append(f"{f}\t{'' if w is None else w}\t{'' if cw is None else ' '.join(map(str, cw))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"{len(mdl.weights)} pain weights, {len(mdl.cat_weights)} category rows"


if __name__ == "__main__":
    model_cli.main(model_cli.Trainer(__doc__ or "", pain_model.MODEL_FILE, THRESHOLD, _examples, fit, f1, write,
                                     "pain span F1 / P / R", "cue classes only"))
