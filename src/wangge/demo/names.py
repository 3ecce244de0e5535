"""Syllable lists for synthetic Chinese place and person names. Nothing here names a real place or person."""

from __future__ import annotations

import random

# Two-character place names are drawn as FIRST + SECOND (e.g. 青坪, 龙溪); the pairs are common in the
# hill counties of south-west China, which is where the demo county sits.
PLACE_FIRST = "青白黄龙凤石高双新太安明东南西北桃柳金银长永兴沙大清红古平马鹤岚巴厚庙杨李周罗朝坛茶竹松梅"
PLACE_SECOND = "坪坝溪河山岭湾口桥水田林坡池场庄寨垭沟塘峰阳岩滩源丰和兴营堡园"

# Urban communities and housing estates carry aspirational names rather than landscape ones.
COMMUNITY_NAMES = (
    "幸福", "和平", "解放", "胜利", "团结", "文化", "建设", "新华", "滨河", "南苑", "北苑", "东城",
    "西城", "朝阳", "光明", "人民", "育才", "复兴", "长青", "锦绣", "桂园", "翠屏", "紫荆", "春晖",
)  # fmt: skip
ESTATE_FIRST = (
    "锦绣", "金桂", "翠湖", "阳光", "康居", "滨江", "御景", "紫荆", "万和", "南湖", "银杏", "丽景",
    "书香", "盛世", "怡和", "碧水", "华府", "名都", "兰亭", "枫林", "馨苑", "天润", "龙湾", "学府",
)  # fmt: skip
ESTATE_SECOND = ("花园", "小区", "家园", "雅居", "新村", "公馆", "华庭", "佳苑")

COUNTY_NAMES = ("云岭", "青川", "岚山", "巴源", "秦岭", "大宁", "凤溪", "明川")

# Places a 专属网格 covers, by DedicatedType value (seed 002: schools, markets, enterprises, parks,
# large office buildings are gridded on their own).
DEDICATED_PLACES = {
    "school": ("实验小学", "第一中学", "第二中学", "职业教育中心", "实验幼儿园"),
    "market": ("农贸市场", "商贸城", "建材市场"),
    "enterprise": ("工业园区", "自来水公司", "供电公司"),
    "park": ("滨河公园", "人民公园", "体育公园"),
    "office_building": ("行政服务中心", "金融大厦", "商务中心"),
}

# The most frequent surnames first, so that weighting by position gives a plausible spread.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文斌海波云飞琴晓燕婷雪梅春林德成"
_SURNAME_WEIGHTS = [1 / (i + 8) for i in range(len(SURNAMES))]

CHINESE_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (enough for sequence names up to 99)."""
    if not 0 < n < 100:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CHINESE_DIGITS[ones]
    return (CHINESE_DIGITS[tens] if tens > 1 else "") + "十" + (CHINESE_DIGITS[ones] if ones else "")


def place_name(rnd: random.Random, taken: set[str]) -> str:
    """A two-character landscape name not in `taken` (which it extends)."""
    while True:
        first, second = rnd.choice(PLACE_FIRST), rnd.choice(PLACE_SECOND)
        name = first + second
        if first != second and name not in taken:
            taken.add(name)
            return name


def pick_unique(rnd: random.Random, pool, taken: set[str], fallback) -> str:
    """A name from `pool` not yet taken; `fallback()` supplies more once the pool runs out."""
    free = [name for name in pool if name not in taken]
    name = rnd.choice(free) if free else fallback()
    taken.add(name)
    return name


def person_name(rnd: random.Random) -> str:
    surname = rnd.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    return surname + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2, 2))))
