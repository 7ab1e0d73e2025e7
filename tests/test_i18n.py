"""Every word of the workbench exists in zh-CN and en, and every key the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yunying.web.i18n import LOCALES, Translator, catalog, negotiate

WEB = Path(__file__).resolve().parent.parent / "yunying" / "web"
# t('key') / t("key") / pc.t("key") with a literal key (keys built from parts are checked by the pages' tests)
LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z][\w\-]*\.[\w.\-]*\w)['"]\s*[,)]""")


def used_keys() -> set[str]:
    found: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        found |= set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    return found


def test_both_languages_have_the_same_words() -> None:
    en, zh = set(catalog("en")), set(catalog("zh-CN"))
    assert en - zh == set(), "missing in zh-CN"
    assert zh - en == set(), "missing in en"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_key_the_code_uses_exists(locale: str) -> None:
    missing = sorted(used_keys() - set(catalog(locale)))
    assert missing == []


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_agree_between_languages(locale: str) -> None:
    other = "en" if locale == "zh-CN" else "zh-CN"
    for key, text in catalog(locale).items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", catalog(other)[key])), key


def test_numbers_and_dates_follow_the_language() -> None:
    zh, en = Translator("zh-CN"), Translator("en")
    assert zh.compact(12_345) == "1.2万" and en.compact(12_345) == "12.3K"
    assert zh.number(1234567) == en.number(1234567) == "1,234,567"
    assert zh.percent(0.1234) == "12.3%" and en.change(-0.05) == "−5.0%" and en.change(None) == "–"
    assert zh.date("2026-10-31") == "2026年10月31日" and en.date("2026-10-31") == "Oct 31, 2026"


def test_tiny_p_values_are_never_shown_as_zero() -> None:
    t = Translator("en")
    assert t.p_value(0.04321) == "0.0432" and t.p_value(0.04321, relation=True) == "= 0.0432"
    assert t.p_value(1.8e-6) == t.p_value(1.8e-6, relation=True) == "< 0.0001"
    assert t.p_value(None) == "–"


@pytest.mark.parametrize(("account", "cookie", "header", "expected"), [
    ("en", "zh-CN", "zh", "en"), (None, "en", "zh-CN", "en"), (None, None, "en-US,en;q=0.9", "en"),
    (None, None, "zh-TW,zh;q=0.9", "zh-CN"), (None, None, "fr-FR", "zh-CN"), (None, "xx", None, "zh-CN"),
])
def test_the_language_of_a_request(account, cookie, header, expected) -> None:
    assert negotiate(account, cookie, header) == expected
