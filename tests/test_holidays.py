"""Chinese statutory holidays: festival days, blocks of days off, mentions in notes, the
[calendar] override and the working days that alerts use (extraction/holidays.py)."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from bot.config import ConfigError, load_settings
from extraction import holidays as h
from extraction.extractor import extract
from scheduler import workdays


@pytest.fixture(autouse=True)
def _no_override() -> Iterator[None]:
    h.install_calendar([])
    yield
    h.install_calendar([])


def _found(text: str, ref: date) -> list[tuple[str, str, str | None, str]]:
    return [(t.kind, t.start.isoformat(), t.end.isoformat() if t.end else None, t.text)
            for t in h.find_holidays(text, ref)]


@pytest.mark.parametrize("name, year, day", [
    (h.MID_AUTUMN, 2024, date(2024, 9, 17)),
    (h.DRAGON_BOAT, 2025, date(2025, 5, 31)),
    (h.SPRING, 2030, date(2030, 2, 3)),
    (h.EVE, 2030, date(2030, 2, 2)),
    (h.QINGMING, 2027, date(2027, 4, 5)),
    (h.SPRING, 1950, date(1950, 2, 17)),
    (h.NATIONAL, 2099, date(2099, 10, 1)),
])
def test_festival_days_any_year(name: str, year: int, day: date) -> None:
    assert h.festival_day(name, year) == day


def test_festival_day_outside_supported_years_is_none() -> None:
    assert h.festival_day(h.SPRING, 1949) is None
    assert h.festival_day(h.NEW_YEAR, 2100) is None


def test_block_and_neighbouring_working_days_honour_makeup_days() -> None:
    spring = h.occurrence(h.SPRING, 2024)
    assert spring and (spring.start, spring.end) == (date(2024, 2, 10), date(2024, 2, 17))
    assert h.first_workday_after(spring.end) == date(2024, 2, 18)  # a Sunday worked (调休)
    autumn = h.occurrence(h.MID_AUTUMN, 2024)
    assert autumn and h.last_workday_before(autumn.start) == date(2024, 9, 14)  # a Saturday worked


def test_adjacent_holidays_share_one_block() -> None:
    autumn, national = h.occurrence(h.MID_AUTUMN, 2023), h.occurrence(h.NATIONAL, 2023)
    assert autumn and national
    assert (autumn.start, autumn.end) == (national.start, national.end) == \
        (date(2023, 9, 29), date(2023, 10, 6))


@pytest.mark.parametrize("text, ref, expected", [
    ("端午节后把样机寄过去", date(2025, 5, 20), ("day", "2025-06-03", None, "端午节后")),
    ("中秋之前要把尾款结清", date(2024, 8, 1), ("day", "2024-09-14", None, "中秋之前")),
    ("他们春节放假，厂里没人", date(2025, 1, 6), ("period", "2025-01-28", "2025-02-04", "春节放假")),
    ("十一回来再报价", date(2024, 9, 20), ("day", "2024-10-08", None, "十一回来")),
    ("今年十一去拜访", date(2024, 3, 2), ("day", "2024-10-01", None, "今年十一")),
    ("前年的元旦签过一单", date(2024, 3, 2), ("day", "2022-01-01", None, "前年的元旦")),
    ("零九年中秋认识的", date(2024, 3, 2), ("day", "2009-10-03", None, "零九年中秋")),
    ("08年国庆装的设备", date(2024, 3, 2), ("day", "2008-10-01", None, "08年国庆")),
    ("清明前后去现场看看", date(2025, 3, 3), ("day", "2025-04-04", None, "清明前后")),
    ("大年三十还在催货", date(2024, 3, 2), ("day", "2025-01-28", None, "大年三十")),
    ("五一假期之后安排培训", date(2024, 4, 8), ("day", "2024-05-06", None, "五一假期之后")),
    ("过完年就上线", date(2024, 11, 20), ("day", "2025-02-05", None, "过完年")),
])
def test_holiday_mentions(text: str, ref: date, expected: tuple[str, str, str | None, str]) -> None:
    assert _found(text, ref) == [expected]


def test_without_a_year_the_next_festival_day_counts() -> None:
    # the 2024 festival (Feb 10) has passed on Feb 14, the block is still running
    assert _found("春节", date(2024, 2, 14))[0][1] == "2025-01-29"
    assert _found("春节期间", date(2024, 2, 14))[0][1:3] == ("2024-02-10", "2024-02-17")


def test_after_said_right_after_the_block_means_that_block() -> None:
    assert _found("国庆后第一次见面", date(2024, 10, 9))[0][1] == "2024-10-08"
    assert _found("国庆后", date(2024, 10, 25))[0][1] == "2025-10-09"


def test_a_holiday_in_a_clause_about_the_past_is_the_last_one() -> None:
    # said weeks after the block: what was done then is the last National Day, not the next one
    assert _found("设备国庆后已经装好了", date(2024, 11, 12)) == [("day", "2024-10-08", None, "国庆后")]
    assert _found("合同是国庆后签的", date(2024, 12, 2)) == [("day", "2024-10-08", None, "国庆后")]
    assert _found("端午节前已经付了定金", date(2024, 8, 20)) == [("day", "2024-06-07", None, "端午节前")]
    # a plan in the same words stays ahead
    assert _found("端午节前要付定金", date(2024, 3, 20)) == [("day", "2024-06-07", None, "端午节前")]


def test_jie_and_nian_alone() -> None:
    assert _found("节前发货", date(2024, 9, 2)) == [("day", "2024-09-14", None, "节前")]
    assert _found("客户节后再谈", date(2024, 10, 9)) == [("day", "2024-10-08", None, "节后")]
    assert _found("年前签掉", date(2025, 1, 6)) == [("day", "2025-01-27", None, "年前")]
    assert _found("年后开工再联系", date(2024, 11, 20)) == [("day", "2025-02-05", None, "年后")]


@pytest.mark.parametrize("text", [
    "第十一个客户", "十一点半到", "十一月底交货", "二十一后", "一共十一台", "五一个人", "王国庆会带技术",
    "三年后续约", "去年前三个月", "不过年底要用", "这个环节后再说", "情人节后搞活动", "国庆路那家店",
    "单价十一左右",
])
def test_not_holidays(text: str) -> None:
    # only the holiday written after the look-alike is found
    assert [t.text for t in h.find_holidays(f"{text}，端午后再联系", date(2024, 6, 3))] == ["端午后"]


def test_phrase_for_the_correction_command() -> None:
    found = h.holiday_date("春节后", date(2024, 11, 20))
    assert found and found.start == date(2025, 2, 5)
    assert h.holiday_date("春节后再说", date(2024, 11, 20)) is None


def test_override_applies_to_holidays_workdays_and_alerts() -> None:
    h.install_calendar([h.HolidayBlock(h.NATIONAL, date(2031, 10, 1), date(2031, 10, 7),
                                       (date(2031, 9, 28), date(2031, 10, 11)))])
    assert workdays.is_workday(date(2031, 9, 28))  # a Sunday worked
    assert not workdays.is_workday(date(2031, 10, 6))  # a Monday off
    assert _found("国庆后", date(2031, 8, 1)) == [("day", "2031-10-08", None, "国庆后")]
    assert _found("国庆期间", date(2031, 8, 1))[0][1:3] == ("2031-10-01", "2031-10-07")


def test_unknown_year_keeps_the_festival_day_off_and_logs_once(
        caplog: pytest.LogCaptureFixture) -> None:
    h._warn_year.cache_clear()
    with caplog.at_level(logging.WARNING):
        assert not h.is_workday(date(2031, 10, 1))  # a Wednesday, 国庆's festival day
        assert not h.is_workday(date(2031, 1, 23))  # a Thursday, 春节 (lunar 1/1)
        assert h.is_workday(date(2031, 10, 2))
    assert sum("2031" in r.getMessage() for r in caplog.records) == 1


def test_config_section_installs_the_override(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[calendar.holidays]]\nname = "端午节"\nstart = 2032-06-11\nend = 2032-06-13\n'
                   "workdays = [2032-06-06]\n", encoding="utf-8")
    settings = load_settings(cfg, env={})
    assert settings.calendar.holidays[0].name == h.DRAGON_BOAT
    assert workdays.is_workday(date(2032, 6, 6))
    assert not workdays.is_workday(date(2032, 6, 11))


@pytest.mark.parametrize("block, message", [
    ('name = "圣诞节"\nstart = 2032-12-25\nend = 2032-12-25', "需要法定节假日名称"),
    ('name = "春节"\nstart = 2032-02-15\nend = 2032-02-09', "end 不能早于 start"),
    ('name = "春节"\nstart = 2032-02-09\nend = 2032-02-15\nworkdays = [2032-02-17]', "不是假期前后 20 天内的周六或周日"),
])
def test_config_rejects_bad_blocks(tmp_path: Path, block: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[[calendar.holidays]]\n{block}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, env={})


def test_extracted_record_lists_the_holiday_in_date_spans() -> None:
    ref = datetime(2024, 9, 10, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    rec = extract("王总说国庆后再看方案", ref_time=ref).to_record()
    assert {"date": "2024-10-08", "end": None, "time": None, "kind": "day", "text": "国庆后",
            "span": [3, 6]} in rec["date_spans"]


def test_unpublished_year_resolves_the_festival_day_but_not_before_or_after() -> None:
    ref = date(2032, 9, 1)  # neither the package nor the override knows 2032's schedule
    assert _found("国庆当天去现场", ref) == [("day", "2032-10-01", None, "国庆当天")]
    assert _found("国庆后去现场", ref) == []
    assert _found("国庆期间不上班", ref) == []
    h.install_calendar([h.HolidayBlock(h.NATIONAL, date(2032, 10, 1), date(2032, 10, 7))])
    assert _found("国庆后去现场", ref) == [("day", "2032-10-08", None, "国庆后")]


def test_a_year_written_in_digits_before_nian_hou_is_not_the_spring_festival() -> None:
    assert _found("他们06年以后就换了供应商", date(2026, 3, 2)) == []
    assert _found("项目２年后再说", date(2026, 3, 2)) == []
    assert _found("这事年后再说", date(2026, 1, 12))[0][3] == "年后"


def test_the_extract_command_reads_the_calendar_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import json

    from bot.__main__ import main

    cfg = tmp_path / "c.toml"
    cfg.write_text('[[calendar.holidays]]\nname = "国庆"\nstart = 2033-10-01\nend = 2033-10-07\n', encoding="utf-8")
    note = {"id": "n1", "ref_time": "2033-09-01T10:00:00+08:00", "text": "国庆后把方案发过去"}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(note, ensure_ascii=False) + "\n"))
    assert main(["--config", str(cfg), "extract"]) == 0
    [span] = json.loads(capsys.readouterr().out)["date_spans"]
    assert span["date"] == "2033-10-10" and span["text"] == "国庆后"  # 10-08 is a Saturday


def test_years_without_a_full_schedule_are_named_until_the_override_gives_every_holiday() -> None:
    assert h.missing_calendar(date(2090, 5, 1)) == {2090: h.STATUTORY, 2091: h.STATUTORY}
    blocks = [h.HolidayBlock(n, date(2091, 1, 1) + timedelta(days=40 * i), date(2091, 1, 3) + timedelta(days=40 * i))
              for i, n in enumerate(h.STATUTORY) if n != h.MID_AUTUMN]
    h.install_calendar(blocks)
    try:
        assert h.missing_calendar(date(2090, 5, 1)) == {2090: h.STATUTORY, 2091: (h.MID_AUTUMN,)}
        h.install_calendar([*blocks, h.HolidayBlock(h.MID_AUTUMN, date(2091, 9, 20), date(2091, 9, 22))])
        assert h.missing_calendar(date(2091, 5, 1)) == {2092: h.STATUTORY}
        # a New Year block that starts in December counts for the year it leads into
        h.install_calendar([h.HolidayBlock(h.NEW_YEAR, date(2091, 12, 30), date(2092, 1, 1))])
        assert h.NEW_YEAR not in h.missing_calendar(date(2091, 5, 1))[2092]
    finally:
        h.install_calendar([])
    assert h.missing_calendar(date(2025, 3, 1)) == {}  # the package knows 2025 and 2026


def test_serve_warns_at_start_when_this_or_next_year_has_no_holiday_schedule(tmp_path: Path) -> None:
    """`salesbot serve` prints the warning before it starts listening (the real clock decides the
    years; with chinesecalendar 1.11 that is every year after 2026)."""
    import os
    import signal
    import subprocess
    import sys
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from handlers.texts import calendar_warnings
    from tests.test_wecom import _free_port

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, SALESBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", SALESBOT_SERVER_HOST="127.0.0.1",
               SALESBOT_SERVER_PORT=str(_free_port()), PYTHONPATH=str(root))
    env.pop("SALESBOT_TEST_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    expected = calendar_warnings(h.missing_calendar(datetime.now(ZoneInfo("Asia/Shanghai")).date()))
    try:
        assert proc.stderr is not None
        head = [proc.stderr.readline().strip() for _ in range(1 + len(expected))]  # start line, warnings
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert head[0].startswith("启动 salesbot") and head[1:] == expected  # before anything else
