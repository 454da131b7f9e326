"""Weekly funnel chart as PNG bytes, for channels that accept images next to the text report.

Pure and thread-safe: no pyplot (its global figure registry is not thread-safe and leaks
figures), only ``matplotlib.figure.Figure`` on the Agg canvas, rendered under a lock.
matplotlib is imported lazily so bot start-up does not pay for it.

Chinese labels need a CJK font and a fresh machine has none, so the font comes from the
``pylopdf-fonts-zh-cn`` package (Noto Sans SC, OFL-1.1) and is loaded by file path, never
from system fonts. Without it the chart still renders (labels as boxes) after one warning.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

log = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 800, 500, 100
EMPTY_TEXT = "本周无商机"
MIN_ROWS = 5  # vertical room reserved as if there were at least this many stages
MAX_LABEL_CHARS = 8  # longer stage labels are cut so the label column keeps its width

# Dark to light blue down the funnel; interpolated for any number of stages.
_TOP_RGB = (0x1F, 0x4E, 0x79)
_BOTTOM_RGB = (0x8F, 0xBC, 0xE6)
_TEXT = "#222222"
_MUTED = "#6B7280"

_render_lock = threading.Lock()


@dataclass(frozen=True)
class FunnelBar:
    """One funnel stage as shown on the chart.

    ``conversion`` is the fraction (0..1) of deals that moved on to the next stage, or None
    where it does not apply (last stage, or nothing reached this stage).
    """

    label: str
    count: int
    amount: Decimal | float | int
    conversion: float | None = None

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"negative deal count for stage {self.label!r}: {self.count}")


def fmt_wan(amount: Decimal | float) -> str:
    """Amount in yuan as 万 with one decimal ("128.5万"), so every row reads in one unit."""
    return f"{Decimal(str(amount)) / 10_000:,.1f}万"


def fmt_conversion(rate: float | None) -> str:
    """Conversion as a whole percent, the same precision the text report uses."""
    return "—" if rate is None else f"{100 * rate:.0f}%"


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """Path of the bundled Simplified-Chinese font, or None (warned once) when it is missing."""
    try:
        import pylopdf_fonts_zh_cn

        path = Path(pylopdf_fonts_zh_cn.sans_path())
        if path.is_file():
            return str(path)
        reason = f"{path} does not exist"
    except (ImportError, AttributeError, OSError) as exc:  # not installed, or a broken install
        reason = repr(exc)
    log.warning("no CJK font for charts (%s); Chinese labels will render as boxes. "
                "Install the 'pylopdf-fonts-zh-cn' package.", reason)
    return None


def _usable_dir(path: Path) -> bool:
    """True when ``path`` exists as a writable dir, or could be created under one."""
    for p in (path, *path.parents):
        if p.exists():
            return p.is_dir() and os.access(p, os.W_OK | os.X_OK)
    return False


def _ensure_mpl_config_dir() -> None:
    """Point MPLCONFIGDIR at a stable private temp dir when the default one is unwritable.

    Otherwise matplotlib makes a fresh temp dir per process and rebuilds its font cache on
    every start (slow, and it warns). An explicit MPLCONFIGDIR is always respected.
    """
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = Path(os.path.expanduser("~"))
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"
    if _usable_dir(config) and _usable_dir(cache):
        return
    fallback = Path(tempfile.gettempdir()) / f"salesbot-matplotlib-{os.getuid()}"
    try:
        fallback.mkdir(mode=0o700, exist_ok=True)
        if fallback.stat().st_uid != os.getuid():  # someone else's dir: don't share a cache
            return
    except OSError:
        return
    os.environ["MPLCONFIGDIR"] = str(fallback)


def _stage_color(i: int, n: int) -> str:
    t = i / (n - 1) if n > 1 else 0.0
    rgb = (round(a + (b - a) * t) for a, b in zip(_TOP_RGB, _BOTTOM_RGB))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…"


def _draw_funnel(ax: Any, rows: Sequence[FunnelBar], font: FontProperties) -> None:
    """Centred bars scaled by count; label column left, count/amount and conversion right."""
    n = len(rows)
    top = max(r.count for r in rows) or 1
    ax.set_xlim(-0.78, 1.12)
    pad = max(0.0, (MIN_ROWS - n) / 2)  # few stages: keep bars slim and vertically centred
    ax.set_ylim(n - 0.45 + pad, -0.75 - pad)  # row 0 at the top
    ax.axis("off")
    size = 12 if n <= 8 else 10
    for i, r in enumerate(rows):
        width = max(r.count / top, 0.015)  # a sliver keeps empty stages visible
        ax.barh(i, width, left=-width / 2, height=0.62, color=_stage_color(i, n), linewidth=0)
        ax.text(-0.53, i, _short(r.label), ha="right", va="center", color=_TEXT,
                fontproperties=font, fontsize=size)
        ax.text(0.55, i, f"{r.count} 个 · {fmt_wan(r.amount)}", ha="left", va="center",
                color=_TEXT, fontproperties=font, fontsize=size)
        if i + 1 < n and r.conversion is not None:
            ax.text(0.55, i + 0.5, f"↓ 转化 {fmt_conversion(r.conversion)}", ha="left",
                    va="center", color=_MUTED, fontproperties=font, fontsize=size - 2)


def funnel_chart_png(title: str, rows: Sequence[FunnelBar]) -> bytes:
    """Render the funnel as a ~800x500 PNG; identical input gives identical bytes."""
    _ensure_mpl_config_dir()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    path = cjk_font_path()
    font = FontProperties(fname=path) if path else FontProperties()
    # Without the font we already warned once: mute the per-glyph warnings. catch_warnings
    # swaps process-global filters, so it is only entered in that degraded case.
    quiet = warnings.catch_warnings() if path is None else contextlib.nullcontext()
    with _render_lock, quiet:
        if path is None:
            warnings.filterwarnings("ignore", message=r".*missing from (current )?font")
        fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
        canvas = FigureCanvasAgg(fig)
        fig.text(0.5, 0.94, title, ha="center", va="center", color=_TEXT,
                 fontproperties=font, fontsize=16)
        ax = fig.add_axes((0.02, 0.03, 0.96, 0.84))
        if rows:
            _draw_funnel(ax, rows, font)
        else:
            ax.axis("off")
            ax.text(0.5, 0.5, EMPTY_TEXT, ha="center", va="center", color=_MUTED,
                    fontproperties=font, fontsize=20, transform=ax.transAxes)
        buf = io.BytesIO()
        # No "Software" chunk: keeps bytes stable across matplotlib patch releases.
        canvas.print_png(buf, metadata={"Software": None})
    return buf.getvalue()
