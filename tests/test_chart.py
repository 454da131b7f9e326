"""Funnel chart PNG: valid, small, deterministic, and the Chinese labels really have glyphs."""
from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from scheduler import chart
from scheduler.chart import EMPTY_TEXT, FunnelBar, fmt_conversion, fmt_wan, funnel_chart_png

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STAGES = ["线索", "初步接触", "需求确认", "报价", "试用", "谈判", "赢单"]
ROWS = [
    FunnelBar("线索", 48, Decimal(5230000), 0.625),
    FunnelBar("初步接触", 30, Decimal(3810000), 0.6),
    FunnelBar("需求确认", 18, Decimal(2465000), 0.667),
    FunnelBar("报价", 12, Decimal(1285000), 0.583),
    FunnelBar("试用", 7, 905000.0, 0.714),
    FunnelBar("谈判", 5, 640000, 0.6),
    FunnelBar("赢单", 3, Decimal(385000), None),
]
TITLE = "销售漏斗周报 · 2026年第2周"
# Every fixed CJK/symbol character the chart itself draws, besides the labels and title.
CHART_CHARS = "个万转化↓·—…" + EMPTY_TEXT


@pytest.fixture(autouse=True)
def _fresh_font_lookup() -> Iterator[None]:
    chart.cjk_font_path.cache_clear()
    yield
    chart.cjk_font_path.cache_clear()


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(png)) as img:
        img.verify()
    with Image.open(io.BytesIO(png)) as img:
        return img.size


def test_renders_valid_small_png() -> None:
    png = funnel_chart_png(TITLE, ROWS)
    assert _size(png) == (800, 500)
    assert 10_000 < len(png) < 100_000


def test_deterministic_and_metadata_free() -> None:
    first = funnel_chart_png(TITLE, ROWS)
    assert funnel_chart_png(TITLE, ROWS) == first
    assert b"Software" not in first and b"Matplotlib" not in first


def test_concurrent_renders_agree() -> None:
    expected = funnel_chart_png(TITLE, ROWS)
    results: list[bytes] = []

    def work() -> None:
        results.append(funnel_chart_png(TITLE, ROWS))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_empty_rows_render_placeholder() -> None:
    png = funnel_chart_png(TITLE, [])
    assert _size(png) == (800, 500)
    assert 2_000 < len(png) < len(funnel_chart_png(TITLE, ROWS))


def test_edge_rows_render() -> None:
    rows = [FunnelBar("线索", 0, 0, None), FunnelBar("一个非常非常长的阶段名称", 0, 1, 0.0)]
    assert _size(funnel_chart_png("全零", rows)) == (800, 500)
    many = [FunnelBar(f"阶段{i}", i * 7, Decimal(i) * 123456, 0.5) for i in range(12)]
    assert _size(funnel_chart_png(TITLE, many)) == (800, 500)


def test_negative_count_rejected() -> None:
    with pytest.raises(ValueError):
        FunnelBar("线索", -1, 0, None)


def test_formatting() -> None:
    assert fmt_wan(Decimal(1285000)) == "128.5万"
    assert fmt_wan(5000.0) == "0.5万"
    assert fmt_wan(123456789) == "12,345.7万"
    assert fmt_conversion(0.583) == "58%"
    assert fmt_conversion(None) == "—"


def test_font_covers_chinese_labels() -> None:
    """Fails when labels would render as boxes: the bundled font must map every glyph."""
    from matplotlib.ft2font import FT2Font

    path = chart.cjk_font_path()
    assert path is not None, "CJK font package missing: install pylopdf-fonts-zh-cn"
    font = FT2Font(path)
    text = "".join(STAGES) + TITLE + CHART_CHARS + "0123456789.,%"
    missing = sorted({c for c in text if font.get_char_index(ord(c)) == 0})
    assert not missing, f"font lacks glyphs for {missing}"


def test_render_warns_of_no_missing_glyph() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        funnel_chart_png(TITLE, ROWS)
        funnel_chart_png(TITLE, [])
    assert not [w for w in caught if "missing from" in str(w.message)]


def test_without_font_warns_once_and_still_renders(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "pylopdf_fonts_zh_cn", None)  # import now fails
    with caplog.at_level(logging.WARNING, logger="scheduler.chart"):
        first = funnel_chart_png(TITLE, ROWS)
        second = funnel_chart_png(TITLE, [])
    assert _size(first) == (800, 500) and _size(second) == (800, 500)
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "CJK font" in caplog.records[0].message


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    return subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_import_is_lazy() -> None:
    out = _run("import sys, scheduler.chart; print('matplotlib' in sys.modules)", {})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_unwritable_home_uses_stable_cache_dir(tmp_path: Path) -> None:
    code = ("from scheduler.chart import funnel_chart_png; import os; "
            "funnel_chart_png('x', []); print(os.environ['MPLCONFIGDIR'])")
    env = {"HOME": "/dev/null/nohome", "TMPDIR": str(tmp_path)}
    out = _run(code, env)
    assert out.returncode == 0, out.stderr
    cfg = Path(out.stdout.strip())
    assert cfg.parent == tmp_path and cfg.name.startswith("salesbot-matplotlib-")
    assert list(cfg.glob("fontlist-*.json")), "font cache was not kept"
    assert "temporary cache directory" not in out.stderr
    again = _run(code, env)  # second start reuses the same dir
    assert again.returncode == 0 and Path(again.stdout.strip()) == cfg
