"""Competitors a company lists in config or a rep confirms once are known for every later note."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.config import ConfigError, load_settings
from store import repos
from store.models import FollowUp
from store.records import NoteRecord
from tests.conftest import NOW, Bot, seed_team
from tests.fakes import FakeChannel, FixedClock


def _last(bot: Bot) -> NoteRecord:
    fu = bot.db(lambda s: s.exec(select(FollowUp).order_by(FollowUp.id.desc())).first())  # type: ignore[union-attr]
    return NoteRecord.load(fu.extracted)


def test_fix_competitors_sets_the_record_and_remembers_the_brands(bot: Bot) -> None:
    bot.say("zhang", "恒达王总说下周三前要我们把方案再优化一下")
    reply = bot.say("zhang", "改 竞品 凯博森、Trumax")
    assert "竞品：凯博森、Trumax" in reply
    assert _last(bot).competitors == ["凯博森", "Trumax"]
    assert bot.db(repos.known_competitors) == ["凯博森", "Trumax"]
    bot.say("zhang", "改 竞品 凯博森")  # confirming again stores nothing twice
    assert bot.db(repos.known_competitors) == ["凯博森", "Trumax"]
    assert bot.app.svc.crm.known_competitors() == ("凯博森", "Trumax")
    bot.say("zhang", "改 竞品 无")
    assert _last(bot).competitors == []
    assert "用法" in bot.say("zhang", "改 竞品 ，")


def test_config_competitors_come_first_and_are_validated(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[extraction]\ncompetitors = ["西门子", " 发那科 ", "西门子"]\n', encoding="utf-8")
    assert load_settings(cfg, env={}).extraction.competitors == ["西门子", "发那科"]
    cfg.write_text('[extraction]\ncompetitors = ["A"]\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(cfg, env={})


def test_a_confirmed_brand_is_found_in_later_notes_however_it_is_mentioned(bot: Bot) -> None:
    bot.say("zhang", "恒达王总说下周三前要我们把方案再优化一下")
    assert "凯博森" not in bot.say("zhang", "宏远张厂长提到凯博森，下周二我再过去")  # unknown, no construction
    bot.say("zhang", "改 竞品 #1 凯博森")
    reply = bot.say("zhang", "宏远张厂长又提到凯博森，下周四我再过去")
    assert "竞品：凯博森" in reply and _last(bot).competitors == ["凯博森"]


def test_config_brands_are_found_without_a_construction(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "s.db"}"\n[extraction]\ncompetitors = ["凯博森"]\n',
                   encoding="utf-8")
    clock = FixedClock(NOW)
    app = build_app(load_settings(cfg, env={}), clock=clock)
    channel = FakeChannel("console")
    app.add_channel(channel)
    seed_team(app)
    try:
        bot = Bot(app, channel, clock, tmp_path / "s.db")
        assert "竞品：凯博森" in bot.say("zhang", "宏远张厂长提到凯博森，下周二我再过去")
    finally:
        app.svc.db.dispose()
