"""Personal data found in text and replaced by placeholders: names, phone numbers, ID cards, bank cards, emails.

One `Redactor` serves everywhere a text is cleaned (training, evaluation, prediction, serving, the prediction log),
so the model learns on `[PHONE]` exactly what it later reads in live traffic, and no personal data reaches a bundle,
a report, a rejects file or a log once `data.redact` is on.

Each kind of personal data is one detector in `DETECTORS` (a registry: a new kind is one entry). Detectors are
regular expressions with a validation step where the format has one, so that order numbers and amounts are left
alone:

- `email`      local@domain.tld
- `id_card`    Chinese resident ID: 18 characters with a valid birth date and ISO 7064 MOD 11-2 check character
               (15-digit first-generation IDs: a valid birth date)
- `bank_card`  13-19 digits, optionally in groups, passing the Luhn check; UnionPay numbers (62..., 16-19 digits)
               also without it, as some Chinese debit cards do not use it
- `phone`      Chinese mobile numbers (1[3-9]x, with or without +86 and separators), landlines written with an
               area code and a separator (010-12345678, (021) 1234 5678), international numbers with a + prefix,
               and North-American (555) 123-4567 / 555-123-4567
- `name`       names introduced by a cue: a title (Mr./Ms./Dr., 先生/女士/经理...), "my name is", 我叫/姓名/联系人/
               持卡人/收件人..., with a Chinese surname list. Names without any cue are not found: a rule cannot
               tell them from other words (train an NER model for that: `domainfit train --task ner`).

Spans found by several detectors go to the first in `PRIORITY` (an 18-digit ID card is not also a bank card).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from domainfit.registry import Registry, pii_kinds

__all__ = ["DETECTORS", "PRIORITY", "Detector", "Finding", "Redactor", "find_pii", "mask", "resolve_kinds"]


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it is in the text (end exclusive)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Detector:
    kind: str
    placeholder: str
    find: Callable[[str], Iterator[tuple[int, int]]]
    description: str
    may_hold: Callable[[str], bool] = lambda text: True  # a cheap test: False means `find` would find nothing


DETECTORS: Registry[Detector] = pii_kinds  # the registry config validation reads (domainfit.registry.pii_kinds)


_SEVEN_DIGITS = re.compile(r"(?:\d[ \-().+/]{0,3}){7}")


def _has_seven_digits(text: str) -> bool:
    return _SEVEN_DIGITS.search(text) is not None


def _detector(kind: str, placeholder: str, description: str, may_hold: Callable[[str], bool] = lambda text: True):
    def deco(find: Callable[[str], Iterator[tuple[int, int]]]):
        DETECTORS.register(kind)(Detector(kind, placeholder, find, description, may_hold))
        return find

    return deco


# ---------------------------------------------------------------------------------------------------- email

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])")


@_detector("email", "[EMAIL]", "email addresses", lambda text: "@" in text)
def _emails(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        yield m.span()


# ---------------------------------------------------------------------------------------------------- ID cards

_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3})([0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{6})(\d{3})(?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _valid_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= born.year <= date.today().year


def id_card_check(first17: str) -> str:
    """The check character of a Chinese resident ID (GB 11643: ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


@_detector("id_card", "[ID_CARD]", "Chinese resident ID numbers (check character and birth date verified)", _has_seven_digits)
def _id_cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _ID18.finditer(text):
        first17 = m.group(1) + m.group(2) + m.group(3)
        if _valid_date(m.group(2)) and id_card_check(first17) == m.group(4).upper():
            yield m.span()
    for m in _ID15.finditer(text):
        if _valid_date("19" + m.group(2)):
            yield m.span()


# ---------------------------------------------------------------------------------------------------- bank cards

_CARD = re.compile(r"(?<![\d-])\d{4}(?:[ -]?\d{2,4}){2,4}(?:[ -]?\d{1,3})?(?![\d-])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@_detector("bank_card", "[BANK_CARD]", "payment card numbers (Luhn check; UnionPay 62... also without)", _has_seven_digits)
def _bank_cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
            continue
        if luhn_ok(digits) or (digits.startswith("62") and len(digits) >= 16):
            yield m.span()


# ---------------------------------------------------------------------------------------------------- phones

_SEP = r"[ \-]?"
_PHONES = [
    # Chinese mobile: 1[3-9]X XXXX XXXX, optionally +86 / 0086 / (+86)
    re.compile(rf"(?<![\d+])(?:(?:\+|00)86{_SEP}|\(\+?86\){_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?!\d)"),
    # Chinese landline with its area code and a separator (an unseparated 0... run is too often another number)
    re.compile(r"(?<![\d+])(?:\(0\d{2,3}\)\s?|0\d{2,3}[ \-])\d{7,8}(?:-\d{1,5})?(?!\d)"),
    # international with a + prefix: +CC then 6-14 more digits in groups
    re.compile(r"(?<![A-Za-z0-9+])\+[1-9]\d{0,2}(?:[ \-]?\(?\d{1,4}\)?){2,5}(?!\d)"),
    # North America
    re.compile(r"(?<!\d)(?:\(\d{3}\)\s?|\d{3}-)\d{3}-\d{4}(?!\d)"),
]


@_detector("phone", "[PHONE]", "phone numbers (Chinese mobile and landline, +international, North American)", _has_seven_digits)
def _phones(text: str) -> Iterator[tuple[int, int]]:
    for pattern in _PHONES:
        for m in pattern.finditer(text):
            digits = sum(ch.isdigit() for ch in m.group())
            if 7 <= digits <= 16:
                yield m.span()


# ---------------------------------------------------------------------------------------------------- names

# The most common Chinese surnames (about 90% of the population) and the common two-character ones.
_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章"
    "鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾"
    "尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛"
    "仲虞敖巩明佘池查麻苑迟邝"
)
_SURNAMES_2 = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒", "夏侯",
               "端木", "南宫", "独孤", "澹台", "呼延", "万俟")
_SURNAME = "(?:" + "|".join(_SURNAMES_2) + f"|[{_SURNAMES_1}])"
_HAN = r"[\u4e00-\u9fff]"
_TITLES_ZH = "先生|女士|小姐|太太|老师|医生|大夫|护士|律师|同学"
# After the surname alone (王经理, 郭师傅): 高级经理, 谢谢师傅 and 辛苦师傅 are no names.
_ROLES_ZH = "总经理|经理|主任|总监|老板|行长|科长|处长|局长|院长|主管|专员|师傅|阿姨|叔叔"
# Surnames that are far more often a function word before a title (对于老板, 和师傅说): not read as names there.
_FUNCTION_SURNAMES = "和于全对向时成常"
# Words a cue or a title may pick up that are no names (我是顾客, 谢谢老师).
_NOT_NAMES_ZH = {"顾客", "客户", "用户", "会员", "商家", "骑手", "谢谢", "辛苦", "感谢", "关键", "送餐", "外卖", "快递", "老师", "同学"}
_CUES_ZH = "我叫|(?<!改)名叫|姓名[:：]?|名字[是叫:：]|联系人[:：]?|户名[:：]?|持卡人[:：]?|收件人[:：]?|收货人[:：]?|患者[:：]?|客户[:：]|本人[:：]?|签名[:：]?"
_TITLES_EN = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam)\.?"
_CAP = r"[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:[-'][A-Z]?[a-z]+)?"  # Smith, McAlpine, O'Neil, Smith-Jones
_NOT_NAMES_EN = {"A", "An", "The", "Not", "Very", "So", "Sorry", "Happy", "Glad", "Here", "Just", "Still", "From", "In", "At",
                 "Calling", "Writing", "Trying", "Looking", "Unable", "Able", "Afraid", "Sure", "Interested", "Disappointed"}

_NAMES = [
    # cue + surname + one or two characters: 我叫张三 / 联系人：欧阳娜娜
    (re.compile(rf"(?:{_CUES_ZH})\s*({_SURNAME}{_HAN}{{1,2}})"), 1),
    # surname (+ one or two characters) + title: 王先生 / 李建国经理. The name must start the text or follow a character
    # that is not part of a word, or a verb-like word such as 联系/找/问/给/请/和/是.
    (re.compile(rf"(?:^|(?<=[^\u4e00-\u9fff])|(?<=[联系找问给请和是向对跟让])|(?<=您好|你好))({_SURNAME}{_HAN}{{0,2}}?)(?:{_TITLES_ZH})"), 1),
    (re.compile(rf"(?:^|(?<=[^\u4e00-\u9fff])|(?<=[联系找问给请和是向对跟让])|(?<=您好|你好))(?![{_FUNCTION_SURNAMES}])({_SURNAME})(?:{_ROLES_ZH})"), 1),
    # 我是张三， : the cue is weaker, so the name must end there
    (re.compile(rf"我是({_SURNAME}{_HAN}{{1,2}})(?!{_HAN})"), 1),
    # English: a title, then one or two capitalised words
    (re.compile(rf"(?<![A-Za-z]){_TITLES_EN}\s+({_CAP}(?:\s+{_CAP})?)"), 1),
    # English: "my name is Anna Smith", "name: Anna", "I am Anna", "I'm Anna" (not "this is": "this is Visa")
    (re.compile(rf"(?<![A-Za-z])(?:[Mm]y name is|[Nn]ame\s*[:：]|I am|I'm)\s+({_CAP}(?:\s+{_CAP})?)"), 1),
]


@_detector("name", "[NAME]", "person names introduced by a title or a cue (先生/女士, 我叫, Mr./Ms., my name is)")
def _names(text: str) -> Iterator[tuple[int, int]]:
    for pattern, group in _NAMES:
        for m in pattern.finditer(text):
            start, end = m.span(group)
            name = text[start:end]
            if name.split()[0] in _NOT_NAMES_EN or name in _NOT_NAMES_ZH or name[:2] in _NOT_NAMES_ZH:
                continue
            yield start, end


# ---------------------------------------------------------------------------------------------------- use

PRIORITY: tuple[str, ...] = ("email", "id_card", "bank_card", "phone", "name")
"""Which detector keeps a span that several found (earlier wins), then the longer span."""


def resolve_kinds(redact: bool | str | Sequence[str] | None) -> tuple[str, ...]:
    """The config value (`true`/"all", a list of kinds, `false`/none) -> the kinds to redact, in priority order.
    Raises RegistryError (with "did you mean") on an unknown kind."""
    if redact is None or redact is False or redact == "none" or (isinstance(redact, (list, tuple)) and not redact):
        return ()
    if redact is True or redact == "all":
        return tuple(k for k in PRIORITY if k in DETECTORS) + tuple(k for k in DETECTORS.names() if k not in PRIORITY)
    wanted = [redact] if isinstance(redact, str) else list(redact)
    for kind in wanted:
        DETECTORS.get(kind)
    order = {k: i for i, k in enumerate(PRIORITY)}
    return tuple(sorted(dict.fromkeys(wanted), key=lambda k: order.get(k, len(order))))


# Full-width ASCII (１３８, ＠, ＋) read as ASCII, one character for one, so offsets stay those of the text.
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


def find_pii(text: str, kinds: Iterable[str] = PRIORITY) -> list[Finding]:
    """Non-overlapping findings in text order. Where spans overlap, the earlier kind in `kinds` wins, then the
    longer span. Full-width digits and letters are found as well (offsets are into `text` as given)."""
    kinds = list(kinds)
    seen = text if text.isascii() else text.translate(_HALF_WIDTH)
    detectors = [DETECTORS.get(kind) for kind in kinds]
    candidates = [Finding(d.kind, s, e) for d in detectors if d.may_hold(seen) for s, e in d.find(seen) if e > s]
    rank = {k: i for i, k in enumerate(kinds)}
    candidates.sort(key=lambda f: (rank[f.kind], -(f.end - f.start), f.start))
    taken: list[Finding] = []
    for f in candidates:
        if all(f.end <= t.start or f.start >= t.end for t in taken):
            taken.append(f)
    return sorted(taken, key=lambda f: f.start)


def mask(value: str) -> str:
    """A value shown in a report without disclosing it: its first and last characters, stars between."""
    if len(value) <= 4:
        return "*" * len(value)
    keep = 2 if len(value) < 10 else 3
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


class Redactor:
    """`redactor(text)` -> the text with each finding replaced by its kind's placeholder ([PHONE], [NAME], ...).

    Falsy when it redacts nothing (then it returns texts unchanged), so callers can skip it cheaply.
    """

    def __init__(self, kinds: bool | str | Sequence[str] | None = True) -> None:
        self.kinds = resolve_kinds(kinds)
        self._placeholders = {k: DETECTORS.get(k).placeholder for k in self.kinds}

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def __repr__(self) -> str:
        return f"Redactor({list(self.kinds)})"

    def find(self, text: str) -> list[Finding]:
        return find_pii(text, self.kinds) if self.kinds and text else []

    def __call__(self, text: str) -> str:
        findings = self.find(text)
        if not findings:
            return text
        parts, at = [], 0
        for f in findings:
            parts += [text[at:f.start], self._placeholders[f.kind]]
            at = f.end
        parts.append(text[at:])
        return "".join(parts)

    def count(self, texts: Iterable[str]) -> Counter:
        """How many findings of each kind the texts hold."""
        return Counter(f.kind for t in texts for f in self.find(t))
