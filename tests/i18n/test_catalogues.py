"""Every string the code and templates show is in each catalogue, translated, and compiled.

Extraction runs here against the source with the repository's babel.cfg, as
`make translations` does, so a string added anywhere without its translation
fails this test (run `make translations` and fill in the new entries).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from contactcenter.i18n import LOCALE_DIR, choose_locale, parse_accept_language, reading_as, translations
from contactcenter.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def source_messages() -> set[str]:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def translated_locales() -> list[str]:
    return [tag for tag in load_settings(environ={}).i18n.locales if tag != "en"]


@pytest.fixture(scope="module")
def messages() -> set[str]:
    found = source_messages()
    assert len(found) > 200  # the extraction really ran over the pages and messages
    return found


@pytest.mark.parametrize("tag", translated_locales())
def test_every_source_string_has_a_translation(tag, messages):
    path = LOCALE_DIR / tag.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalogue = read_po(f)
    missing = sorted(m for m in messages if m not in catalogue)
    empty = sorted(m.id for m in catalogue if m.id and (not m.string or m.fuzzy) and m.id in messages)
    assert missing == [], f"not in {path.name} for {tag} (run `make translations`): {missing}"
    assert empty == [], f"untranslated or fuzzy in {tag}: {empty}"


@pytest.mark.parametrize("tag", translated_locales())
def test_the_compiled_catalogue_is_current(tag):
    folder = LOCALE_DIR / tag.replace("-", "_") / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        source = {m.id: m.string for m in read_po(f) if m.id and not m.fuzzy}
    with (folder / "messages.mo").open("rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    assert compiled == source, "messages.mo is older than messages.po: run `make translations`"


def test_a_planted_string_would_be_caught(tmp_path, messages):
    """The check above can fail: a new _() call is extracted and is not in the catalogue."""
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    assert "Reports" in catalogue and "A string nobody translated" not in catalogue
    (tmp_path / "planted.py").write_text('from contactcenter.i18n import gettext as _\n_("A string nobody translated")\n')
    planted = {m for _f, _l, m, _c, _x in extract_from_dir(str(tmp_path), [("**.py", "python")], {}, keywords=KEYWORDS)}
    assert planted == {"A string nobody translated"}


def test_locale_choice():
    available = ["en", "zh-CN"]
    assert parse_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == ["zh-CN", "zh", "en"]
    assert parse_accept_language("en;q=0.2, zh-TW, fr;q=0") == ["zh-TW", "en"]
    assert choose_locale(parse_accept_language("fr-FR,zh-TW;q=0.5"), available, "en") == "zh-CN"
    assert choose_locale(["ZH_cn"], available, "en") == "zh-CN"
    assert choose_locale(["de", "*"], available, "en") == "en"
    with reading_as("zh-CN"):
        assert translations("zh-CN").gettext("Inbox") == "收件箱"
