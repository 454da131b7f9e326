"""Console channel: a reply's picture is saved as a PNG file and its path printed after the text."""
from __future__ import annotations

import asyncio
import io
import re
import shutil
from pathlib import Path

from bot.console import ConsoleChannel
from bot.types import Peer, Reply
from tests.servers import tiny_png


def _saved_path(out: str) -> Path:
    m = re.search(r"图片已保存：(\S+\.png)", out)
    assert m, out
    return Path(m.group(1))


def test_picture_written_to_file_and_path_printed(tmp_path: Path) -> None:
    out = io.StringIO()
    channel = ConsoleChannel(out=out, image_dir=tmp_path / "charts")
    png = tiny_png()
    asyncio.run(channel.send(Peer("console", "wang"), Reply("本周漏斗\n报价 3 个", image=png)))
    text = out.getvalue()
    assert text.index("报价 3 个") < text.index("图片已保存")  # the text first, then where the chart is
    path = _saved_path(text)
    assert path.parent == tmp_path / "charts" and path.read_bytes() == png


def test_picture_without_text_goes_to_a_temp_dir() -> None:
    out = io.StringIO()
    channel = ConsoleChannel(out=out)
    asyncio.run(channel.send(Peer("console", "../wang"), Reply("", image=tiny_png())))
    path = _saved_path(out.getvalue())
    try:
        assert path.exists() and path.name.startswith("___wang-")  # no path tricks from a user id
        assert path.parent.name.startswith("salesbot-images-")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
