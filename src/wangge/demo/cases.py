"""A year of cases for the demo county: every screen of the loop has something true to show.

    plan(seed, today, annual) -> (world, [CaseSim])    pure planning: who reported what, where and when,
                                                       and every step after it with the rules' effects
    ServiceEngine().run(world, sims)                   each step through wangge.cases.services
    BulkEngine().run(world, sims, today)               the same rows, written in bulk
    build_case_history(scale, seed, today=...)         plan and write, for `wangge demo`

History has to be true, so the generator does not invent states: a case's life is a sequence of the
loop's steps taken by people who may take them, at times inside (or, now and then, past) the deadlines
the time limits give. `CaseSim` mirrors what each service does to a case, its assignments, its action
rows and the notifications it sends, including the overdue sweep that the worker runs every ten minutes
(a case whose stage deadline passes is escalated or urged at the next tick). The small county is built
by calling the services themselves with `now=` the step's time, so what it holds is exactly what the
services produce; the county scale (≈100,000 cases) writes the mirrored rows in bulk, which takes a
minute instead of an hour. tests/test_demo_cases.py runs one set of stories both ways and compares
every field, so the mirror cannot drift from the services unnoticed.

Everything random comes from the seed: the arrivals from one `random.Random(seed)`, each case's life from
its own generator seeded with (seed, case number), so a case's story does not depend on the others.
Only `today` anchors the year; the same seed and the same `today` give the same history.

What the services do not record, the generator fills in: a case's created_at is its report time (the
model stamps the wall clock), notifications are dated by the step that sent them, and those older than
two days are marked read. The bulk writer keeps only the last `NOTIFICATION_DAYS` days of notifications.
"""

from __future__ import annotations

import datetime
import math
import random
import time
import uuid
import zlib
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice

import numpy as np
import shapely
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wangge.cases import services, sweeps
from wangge.cases.choices import (
    OPEN_STATES,
    PETITION_CHANNEL_OF_SOURCE,
    SOURCES_NEEDING_VERIFICATION,
    URGE_ORDER,
    ActionKind,
    AssignmentStatus,
    CaseState,
    ExtensionStatus,
    HandlerLevel,
    MediationOutcome,
    PetitionChannel,
    Rating,
    RejectReason,
    Severity,
    Source,
    Stage,
    StatisticsGroup,
    UrgeLevel,
)
from wangge.cases.models import (
    Assignment,
    Case,
    CaseAction,
    CaseSerial,
    Category,
    ExtensionRequest,
    TimeLimit,
)
from wangge.core.testing import PASSWORD
from wangge.ledger.models import Household
from wangge.notices.models import Notification, NotificationKind
from wangge.people.models import Department, Post, User
from wangge.people.roles import ROLE_CAPABILITIES, Capability, Role
from wangge.units import geometry as geo
from wangge.units.choices import UnitKind
from wangge.units.locate import clear_locator
from wangge.units.models import Unit
from wangge.workdays.calendar import (
    TimeUnit,
    add_working_duration,
    deadline,
    is_workday,
    working_days_between,
)

from . import names

# Cases a year. The county figure is the seeds' (~100,000 a year for ~150,000 households); the small
# county gets far fewer than its share, because it is built through the services one step at a time
# and `make run` should stay quick.
ANNUAL_CASES = {"small": 90, "county": 100_000}
HISTORY_DAYS = 365
NOTIFICATION_DAYS = 30  # older notifications are not generated in bulk (an inbox's useful memory)
READ_AFTER_DAYS = 2  # notifications older than this have been read
TICK = datetime.timedelta(minutes=10)  # how often the worker sweeps for overdue cases

# Extra departments the cases are dispatched to, beside those the county plan has and those the
# categories name as their usual handlers. Township offices exist in every 乡镇/街道.
EXTRA_COUNTY_DEPARTMENTS = (
    ("ziranziyuan", "县自然资源局"),
    ("renshe", "县人力资源和社会保障局"),
    ("xinfang", "县信访局"),
    ("sifa", "县司法局"),
    ("xiaofang", "县消防救援大队"),
    ("nongye", "县农业农村局"),
    ("jiaoyu", "县教育局"),
)
DEPARTMENT_SLUGS = {
    "县应急管理局": "yingji",
    "县公安局": "gongan",
    "县住房和城乡建设局": "zhujian",
    "县生态环境局": "shengtai",
    "县市场监督管理局": "shijian",
    "县民政局": "minzheng",
    "县卫生健康局": "weijian",
    "县综合行政执法局": "zhifa",
    "县水利局": "shuili",
    "县交通运输局": "jiaotong",
    "县文化和旅游局": "wenlv",
    "县城市管理局": "chengguan",
    **{name: code for code, name in EXTRA_COUNTY_DEPARTMENTS},
}
TOWNSHIP_OFFICES = (("zz", "综治中心", "综治中心专干"), ("pcs", "派出所", "社区民警"))
HOTLINE_OPERATOR = "demo-12345"

OFFICE_OPEN, OFFICE_CLOSE = datetime.time(8, 30), datetime.time(18, 0)
local_zone = timezone.get_default_timezone  # the deployment's zone (settings.TIME_ZONE), cached by Django


# =====================================================================================================
# Words. Synthetic, like the rest of the demo: no real person, phone or ID number appears anywhere.
# {place} is the address, {who} how a resident is addressed (王女士).

STORY_TEXTS: dict[str, list[tuple[str, str]]] = {
    "邻里纠纷": [
        ("邻里因排水沟堵塞发生争执", "{place}两户村民因屋后排水沟堵塞、雨水倒灌发生争执，双方情绪激动，{who}请求调解。"),
        ("楼上漏水引发邻里矛盾", "{place}楼上住户卫生间漏水，楼下{who}多次协商未果，双方发生口角。"),
        ("宠物扰邻引发争吵", "{place}住户饲养的犬只夜间吠叫、随地便溺，邻居意见很大，已发生争吵。"),
        ("相邻通行道路纠纷", "{place}一户在自家门前堆放建材堵住公共通道，相邻住户无法通行，双方僵持不下。"),
    ],
    "婚姻家庭纠纷": [
        ("夫妻矛盾需上门调解", "{place}一对夫妻因家庭琐事长期争吵，{who}反映近日矛盾升级，担心发生意外。"),
        ("赡养老人纠纷", "{place}一位老人的子女因赡养费用分担发生争执，老人生活无人照料。"),
    ],
    "土地山林权属纠纷": [
        ("林地界址争议", "{place}两个村民小组对一片林地的界址认定不一，双方均主张权属，已多次发生争吵。"),
        ("承包地边界纠纷", "{place}两户村民因承包地边界移动发生纠纷，一方已将对方种植的作物拔除。"),
    ],
    "劳资纠纷": [
        ("工地工人反映工资未结清", "{place}一处建设工地十余名工人反映工程完工后工资尚未结清，要求协调。"),
        ("小微企业拖欠工资", "{place}一家加工作坊拖欠员工两个月工资，{who}代表员工反映情况。"),
    ],
    "农民工欠薪群体讨薪": [
        ("农民工聚集讨要工资", "{place}二十余名农民工聚集在项目部门口讨要工资，情绪激动，存在群体性事件风险。"),
    ],
    "物业与业主纠纷": [
        ("小区物业服务纠纷", "{place}部分业主对物业费上涨和电梯维修不及时不满，拒交物业费，双方矛盾突出。"),
    ],
    "治安隐患线索": [
        ("出租屋人员频繁进出", "{place}一处出租屋夜间人员进出频繁，邻居反映存在治安隐患。"),
        ("路段照明缺失治安隐患", "{place}道路路灯损坏多日，夜间漆黑，群众反映晚归不安全。"),
    ],
    "流动人口与出租房屋管理": [
        ("出租房屋未登记", "{place}新增出租房屋三间，承租人员信息未登记，需补录并开展安全检查。"),
    ],
    "打架斗殴": [
        ("烧烤店门口发生打架", "{place}烧烤店门口两伙人酒后发生推搡斗殴，现场有人受轻伤。"),
    ],
    "电动车违规停放充电": [
        ("楼道内电动车充电", "{place}楼道内停放电动车并私拉电线充电，堵塞通道，存在火灾隐患。"),
        ("电动车进户充电", "{place}有住户将电动车推入室内充电，网格员巡查发现后需督促整改。"),
    ],
    "消防通道堵塞": [
        ("消防通道被占用", "{place}小区消防通道被私家车长期占用，消防车无法通行。"),
        ("安全出口堆放杂物", "{place}沿街商铺后门安全出口堆放大量纸箱杂物。"),
    ],
    "消防设施损坏缺失": [
        ("楼道灭火器过期", "{place}楼道内灭火器压力不足且已过期，消火栓箱内水带缺失。"),
    ],
    "九小场所消防隐患": [
        ("小餐馆燃气软管老化", "{place}一家小餐馆燃气软管老化开裂，灶台周边油污严重，无灭火器。"),
    ],
    "企业安全生产隐患": [
        ("小作坊安全防护缺失", "{place}一处木材加工作坊设备无防护罩，员工未佩戴防护用品。"),
    ],
    "农村自建房安全隐患": [
        ("自建房墙体开裂", "{place}一处老旧自建房外墙出现明显裂缝，屋内仍有老人居住。"),
    ],
    "道路设施损毁": [
        ("村道路面塌陷", "{place}村道路面出现塌陷坑洞，约一米见方，夜间行车危险。"),
        ("护栏被撞损", "{place}临崖路段护栏被车辆撞坏约十米，尚未修复。"),
    ],
    "占道经营与路障影响通行": [
        ("占道经营影响通行", "{place}早市摊贩占道经营，车辆行人通行困难。"),
        ("路边堆放建筑垃圾", "{place}路边堆放建筑垃圾，占用半幅车道。"),
    ],
    "农村面包车、三轮车违法载人": [
        ("三轮车违法载人", "{place}有三轮车搭载多名村民赶集，存在交通安全隐患。"),
    ],
    "地质灾害隐患点监测": [
        ("隐患点出现新裂缝", "{place}地质灾害隐患点后山出现新的拉张裂缝，长约五米。"),
    ],
    "地质灾害险情": [
        ("山体滑坡险情", "{place}连续降雨后后山发生小规模滑坡，威胁坡脚两户住房。"),
    ],
    "防汛险情": [
        ("河道水位上涨", "{place}河道水位快速上涨，低洼处住户需转移。"),
    ],
    "森林火险": [
        ("林区野外用火", "{place}有村民在林边焚烧秸秆，存在森林火灾风险。"),
    ],
    "停水断水": [
        ("片区停水未通知", "{place}自昨晚起停水，住户未收到通知，{who}反映生活受影响。"),
    ],
    "供水设施损坏": [
        ("供水管道破裂", "{place}供水主管道破裂，路面积水，周边住户水压不足。"),
    ],
    "农村饮水困难": [
        ("高位水池供水不足", "{place}高位水池供水不足，山上几户村民取水困难。"),
    ],
    "噪声污染": [
        ("夜间施工噪声扰民", "{place}附近工地夜间施工，噪声扰民，{who}反映多次。"),
        ("广场舞音响扰民", "{place}广场舞音响音量过大，周边住户休息受影响。"),
    ],
    "大气污染": [
        ("露天焚烧垃圾", "{place}有人露天焚烧生活垃圾，浓烟影响周边住户。"),
    ],
    "畜禽养殖污染": [
        ("养殖场污水外排", "{place}一处生猪养殖场粪污直排沟渠，气味很大。"),
    ],
    "固体废物倾倒": [
        ("河边倾倒建筑垃圾", "{place}河边被倾倒大量建筑垃圾，影响行洪。"),
    ],
    "无证无照食品经营": [
        ("流动摊点无证经营", "{place}学校周边流动摊点无证售卖油炸食品。"),
    ],
    "农村集体聚餐报备": [
        ("农村坝坝宴报备", "{place}村民家中将举办宴席，预计二十余桌，需报备并上门指导。"),
    ],
    "病媒生物与环境卫生": [
        ("垃圾收集点清运不及时", "{place}垃圾收集点满溢多日未清运，蚊蝇滋生。"),
    ],
    "重点人群健康管理": [
        ("独居老人健康随访", "{place}独居老人近期身体不适，需协调村医上门随访。"),
    ],
    "刑满释放人员安置帮教": [
        ("刑满释放人员返乡", "{place}一名刑满释放人员返乡，需建立帮教档案并落实帮扶。"),
    ],
    "严重精神障碍患者服务管理": [
        ("患者停药情绪不稳", "{place}一名严重精神障碍患者近期停药，情绪不稳定，家属求助。"),
    ],
    "重点青少年关爱帮扶": [
        ("留守儿童无人照看", "{place}一名留守儿童父母外出务工，祖辈年老体弱，照看不力。"),
    ],
    "心理疏导需求": [
        ("村民情绪低落需疏导", "{place}一村民因家庭变故情绪低落，家属请求心理疏导。"),
    ],
    "封建迷信活动": [
        ("聚众封建迷信活动", "{place}有人组织群众进行封建迷信活动，借机敛财。"),
    ],
}  # fmt: skip
TOP_TEXTS: dict[str, list[tuple[str, str]]] = {
    "矛盾": [
        ("群众矛盾需调处", "{place}群众之间因利益问题产生矛盾，{who}请求调处。"),
    ],
    "治安": [
        ("治安情况需核查", "{place}群众反映存在治安问题，需核查处理。"),
    ],
    "特殊人群": [
        ("特殊人群动态异常", "{place}一名服务管理对象近期动态异常，需走访了解情况。"),
    ],
    "安全": [
        ("发现安全隐患", "{place}巡查发现安全隐患，需督促整改。"),
    ],
    "消防": [
        ("发现消防隐患", "{place}巡查发现消防安全隐患，需督促整改。"),
    ],
    "交通": [
        ("道路交通隐患", "{place}存在道路交通安全隐患，需协调处理。"),
    ],
    "灾害": [
        ("自然灾害隐患", "{place}发现自然灾害隐患，需监测和处置。"),
    ],
    "饮水": [
        ("饮水问题", "{place}群众反映饮水问题，需协调解决。"),
    ],
    "生态": [
        ("生态环境问题", "{place}发现生态环境问题，需查处。"),
    ],
    "食品": [
        ("食品药品安全问题", "{place}发现食品药品安全问题，需查处。"),
    ],
    "卫生": [
        ("公共卫生问题", "{place}发现公共卫生问题，需处置。"),
    ],
    "民生": [
        ("群众生活诉求", "{place}{who}反映生活困难，需帮助解决。"),
    ],
}  # fmt: skip
RESULTS: dict[str, list[str]] = {
    "矛盾": [
        "网格员组织双方面对面调解，达成口头协议，已签订调解记录，双方表示满意。",
        "经村调委会调解，双方就争议事项达成书面协议，已履行完毕。",
        "联合司法所调解员上门释法说理，双方各退一步，矛盾化解。",
    ],
    "治安": [
        "已协调派出所民警上门核查，落实整改措施，安排夜间巡逻。",
        "经核查情况属实，已依法处置，现场恢复正常。",
    ],
    "特殊人群": [
        "已上门走访，落实帮扶责任人和管控措施，建立动态台账。",
        "已协调相关部门落实救治和帮扶，家属签字确认。",
    ],
    "安全": [
        "已督促责任人完成整改，现场复查隐患消除。",
        "已下达整改通知书，责任单位按期完成整改并提交整改报告。",
    ],
    "消防": [
        "已督促清理通道、规范充电，现场复查符合要求。",
        "已更换过期消防器材，隐患已消除。",
    ],
    "交通": [
        "已设置警示标志，路面修复完成，恢复通行。",
        "已对违法载人行为批评教育并登记，后续加强巡查。",
    ],
    "灾害": [
        "已落实监测责任人，设置警示标志，受威胁群众已转移安置。",
        "险情已排除，隐患点纳入群测群防。",
    ],
    "饮水": [
        "已协调供水站抢修，恢复正常供水。",
        "已清洗水池、检修管网，水质检测合格。",
    ],
    "生态": [
        "已责令停止违法行为并清理现场，恢复原状。",
        "经执法人员现场查处，已立案处罚并完成整改。",
    ],
    "食品": [
        "已责令停止经营并没收违法物品，督促办理许可。",
        "已上门指导聚餐食品安全，签订承诺书。",
    ],
    "卫生": [
        "已组织清运垃圾、消杀，环境卫生恢复正常。",
        "已协调村医完成随访并建立健康档案。",
    ],
}  # fmt: skip
DEFAULT_RESULTS = ["已现场处置完毕，群众无异议。", "经协调相关方，问题已解决。"]
ESCALATE_REASONS = [
    "超出网格处置能力，需上级协调。",
    "涉及多方利益，需村（社区）统筹调处。",
    "需相关职能部门依法处置，提请派单。",
    "情况复杂，需提级处理。",
]
DISPATCH_INSTRUCTIONS = [
    "请按职责及时核查处置，按期反馈结果。",
    "请尽快到现场处置，处置前后拍照留存。",
    "请牵头处置，协办单位配合，按期报送办理情况。",
]
RETURN_REASONS = ["该事项不属于本部门职责范围，请重新派遣。", "事项描述与现场不符，需属地先行核实。"]
CHECK_PASS_NOTES = ["现场核查，问题已解决，同意结案。", "经回访核实，整改到位，予以销号。"]
CHECK_FAIL_NOTES = ["现场核查整改不到位，请返工处置。", "处置后照片与现场不符，请重新处置并补充材料。"]
VERIFY_NOTES = ["已到现场核实，情况属实。", "经现场查看，反映情况基本属实。"]
REJECT_NOTES = {
    RejectReason.NOT_A_CASE: [
        "经现场核实，反映的问题已自行消除，不予立案。",
        "咨询类事项，已当场解答，不予立案。",
    ],
    RejectReason.DUPLICATE: ["与已立案事件为同一问题，合并办理。"],
    RejectReason.OUT_OF_SCOPE: ["属于司法诉讼程序中的事项，已引导当事人依法维权。"],
}
RATING_COMMENTS = {
    Rating.SATISFIED: ["处理及时，非常满意。", "", "", "感谢网格员！"],
    Rating.BASICALLY_SATISFIED: ["基本解决，希望后续加强巡查。", ""],
    Rating.UNSATISFIED: ["问题没有根本解决，仍然存在。", "处理结果不满意，要求重新处理。"],
}
REOPEN_NOTES = ["群众不满意，重新办理。", "回访不满意，退回重办。"]
HOLD_REASONS = [
    "历史遗留问题，涉及多方权属，短期内难以解决，纳入长期管理。",
    "需通过司法途径解决，转入长期管理，定期做好解释疏导工作。",
]
FOLLOW_UP_NOTES = [
    "已上门回访，当事人情绪稳定，继续做好解释工作。",
    "与相关部门会商，推进方案正在研究中。",
    "当事人诉求无变化，继续跟踪。",
]
RESUME_NOTES = ["条件已具备，恢复正常办理。"]
URGE_NOTES = ["请加快办理进度，按期办结。", "群众反映强烈，请尽快处置。"]
EXTENSION_REASONS = ["需等待检测结果，申请延期。", "涉及多部门协调，申请延期办理。"]
EXTENSION_DECISIONS = {True: ["同意延期，请按新期限办结。"], False: ["理由不充分，请按原期限办结。"]}
REPORT_BACK_NOTES = ["已按分工完成本部门任务，情况已报牵头单位。", "已派员到场配合处置。"]
ACCEPT_NOTES = ["", "", "已接单，马上安排人员处置。"]
PUBLISH_TEMPLATES = ["群众反映的{category}问题已办结：{result}", "{category}事件办理结果公示：{result}"]
STREET_PLACES_RURAL = ("村道旁", "河边", "村口", "后山", "田间机耕道", "桥头")
STREET_PLACES_URBAN = ("小区门口", "沿街商铺前", "背街小巷", "人行道", "公交站旁", "小区广场")
RESIDENT_SUFFIXES = ("先生", "女士", "大爷", "阿姨")

# How often the top categories come up, by a word of their name (first match wins): many disputes,
# safety hazards and services, very few terrorism or cult leads.
TOP_WEIGHTS = (
    ("矛盾", 22.0), ("民生", 18.0), ("城乡环境", 12.0), ("城市管理", 12.0), ("消防", 9.0), ("安全生产", 8.0),
    ("治安", 8.0), ("交通", 6.0), ("生态", 6.0), ("特殊人群", 5.0), ("社情民意", 5.0), ("饮水", 4.0), ("食品", 4.0),
    ("灾害", 3.0), ("卫生", 3.0), ("信访", 3.0), ("心理", 1.5), ("黄赌毒", 0.8), ("传销", 0.5), ("邪教", 0.3),
    ("涉恐", 0.15), ("突发", 1.0),
)  # fmt: skip
# Seasons, by a word of the subcategory's name: month → factor.
SEASONS = (
    (("防汛", "地质灾害险情", "气象"), {6: 3.0, 7: 3.5, 8: 3.0, 9: 1.5, 12: 0.3, 1: 0.3, 2: 0.3}),
    (("森林火", "火灾"), {12: 2.0, 1: 2.5, 2: 2.5, 3: 2.0, 4: 1.5, 7: 0.5}),
    (("欠薪", "讨薪", "劳资"), {12: 2.5, 1: 3.0, 2: 1.5}),
    (("聚餐", "食物中毒"), {1: 2.0, 2: 2.0, 10: 1.5}),
    (("停水", "饮水"), {7: 1.5, 8: 1.5}),
)
# Categories that end up in long-term management now and then.
HARD_WORDS = ("征地", "土地山林", "信访", "讨薪", "涉众", "劳资", "物业")
SOURCE_WEIGHTS = (
    (Source.PATROL, 56),
    (Source.VISIT, 8),
    (Source.RESIDENT, 11),
    (Source.HOTLINE, 9),
    (Source.WECHAT, 5),
    (Source.TALK_OFFICE, 3),
    (Source.VIDEO, 2),
    (Source.HIGHER_LEVEL, 4),
    (Source.DEPARTMENT, 2),
)


def pick_keyed(table, name: str, default):
    for words, value in table:
        if isinstance(words, str):
            words = (words,)
        if any(word in name for word in words):
            return value
    return default


# =====================================================================================================
# The world the cases happen in, read once from the database.


@dataclass(frozen=True, slots=True)
class UnitInfo:
    id: int
    code: str
    name: str
    label: str  # str(unit), as dispatch records show it
    path: str
    depth: int
    parent_id: int | None
    level: str  # HandlerLevel, from services.level_of_unit
    kind: str
    dedicated_type: str
    area_type: str
    township_id: int | None
    village_id: int | None


@dataclass(frozen=True, slots=True)
class PostInfo:
    user_id: int
    username: str
    unit_id: int
    role: str
    department_id: int | None


@dataclass(frozen=True, slots=True)
class DeptInfo:
    id: int
    name: str
    unit_id: int


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    id: int
    code: str
    name: str
    parent_id: int
    top_name: str
    default_level: str
    default_department: str
    severity: str
    urgent: bool  # its limits count urgent hours somewhere: people act at any hour
    group: str  # the statistics group: disputes record a mediation outcome, petitions a channel


@dataclass(frozen=True, slots=True)
class HouseholdInfo:
    id: int
    number: str
    address: str
    lng: float
    lat: float


def roles_with(capability: str) -> frozenset[str]:
    return frozenset(role for role, caps in ROLE_CAPABILITIES.items() if capability in caps)


class World:
    """Units, staff, departments, categories and time limits of the demo county, as plain data."""

    def __init__(self):
        units = list(Unit.objects.current().select_related("level").order_by("path"))
        by_path = {u.path: u for u in units}
        self.units: dict[int, UnitInfo] = {}
        for u in units:
            parent = by_path.get(u.path[: -u.steplen]) if u.depth > 1 else None
            township = by_path.get(u.path[: 2 * u.steplen]) if u.depth >= 2 else None
            village = by_path.get(u.path[: 3 * u.steplen]) if u.depth >= 3 else None
            self.units[u.pk] = UnitInfo(
                u.pk,
                u.code,
                u.name,
                str(u),
                u.path,
                u.depth,
                parent.pk if parent else None,
                services.level_of_unit(u),
                u.kind,
                u.dedicated_type,
                u.area_type,
                township.pk if township else None,
                village.pk if village else None,
            )
        self.county = next(u for u in self.units.values() if u.depth == 1)
        parents = {u.parent_id for u in self.units.values()}
        self.leaves = [u for u in self.units.values() if u.kind != UnitKind.DIVISION and u.id not in parents]
        leaf_ids = {leaf.id for leaf in self.leaves}
        self.geometries = {u.pk: u.geometry for u in units if u.pk in leaf_ids}
        self.households: dict[int, list[HouseholdInfo]] = defaultdict(list)
        for row in Household.objects.order_by("id").values_list(
            "id", "grid_id", "number", "address", "lng", "lat"
        ):
            if row[4] is not None:
                self.households[row[1]].append(HouseholdInfo(row[0], *row[2:]))
        self.departments = {
            d.pk: DeptInfo(d.pk, d.name, d.unit_id) for d in Department.objects.order_by("id")
        }
        self.posts = [
            PostInfo(p.user_id, p.user.username, p.unit_id, p.role, p.department_id)
            for p in Post.objects.active().filter(user__is_active=True).select_related("user").order_by("id")
        ]
        self.posts_at: dict[int, list[PostInfo]] = defaultdict(list)
        self.post_of: dict[int, PostInfo] = {}
        for post in self.posts:
            self.posts_at[post.unit_id].append(post)
            self.post_of.setdefault(post.user_id, post)
        self.user_ids = {post.username: post.user_id for post in self.posts}
        self.staff_of_department: dict[int, list[int]] = defaultdict(list)
        for post in self.posts:
            if post.department_id and post.user_id not in self.staff_of_department[post.department_id]:
                self.staff_of_department[post.department_id].append(post.user_id)
        self.department_at = {(d.unit_id, d.name): d for d in self.departments.values()}
        self.limits: dict[tuple[int | None, str, str], tuple[Decimal, str]] = {
            (lim.category_id, lim.stage, lim.handler_level): (lim.value, lim.unit)
            for lim in TimeLimit.objects.all()
        }
        urgent = {cat for (cat, _s, _l), (_v, unit) in self.limits.items() if unit == TimeUnit.URGENT_HOURS}
        by_hours = {
            cat for (cat, _s, _l), (_v, unit) in self.limits.items() if unit == TimeUnit.WORKING_HOURS
        }
        self.categories = [
            CategoryInfo(
                c.pk,
                c.code,
                c.name,
                c.parent_id,
                c.parent.name,
                c.default_level,
                c.default_department,
                c.default_severity,
                c.pk in urgent or c.parent_id in urgent,
                c.group,
            )
            for c in Category.objects.filter(parent__isnull=False, is_active=True)
            .select_related("parent")
            .order_by("code")
        ]
        self.category = {c.id: c for c in self.categories}
        # Categories whose every limit counts whole days: the scripted cases use them, so that their
        # deadlines do not depend on the hour of the build.
        self.calm = {
            c.id for c in self.categories if not ({c.id, c.parent_id} & (urgent | by_hours)) and not c.urgent
        }
        self._deadlines: dict = {}
        self._nearest: dict = {}

    # --- people ------------------------------------------------------------------------------------

    def desk(self, unit_id: int) -> int:
        """The one who acts for a unit: the first territorial post there (the demo has one per unit)."""
        for post in self.posts_at[unit_id]:
            if post.role != Role.DEPARTMENT_USER and post.role != Role.SYSTEM_ADMIN:
                return post.user_id
        raise LookupError(f"nobody is posted at {self.units[unit_id].code}")

    def department_user(self, dept_id: int) -> int:
        return self.staff_of_department[dept_id][0]

    def ancestors(self, unit: UnitInfo) -> list[UnitInfo]:
        chain = [unit]
        while chain[-1].parent_id is not None:
            chain.append(self.units[chain[-1].parent_id])
        return chain[::-1]

    # Mirrors of wangge.notices.services, over the posts read at the start.

    def unit_staff(self, unit_id: int | None, capability: str) -> list[int]:
        if unit_id is None:
            return []
        roles = roles_with(capability)
        return unique(
            p.user_id for p in self.posts_at[unit_id] if p.role in roles and p.role != Role.DEPARTMENT_USER
        )

    def nearest_staff(self, unit_id: int, capability: str) -> list[int]:
        key = (unit_id, capability)
        if key not in self._nearest:
            roles = roles_with(capability)
            found: list[int] = []
            for unit in reversed(self.ancestors(self.units[unit_id])):
                found = unique(
                    p.user_id
                    for p in self.posts_at[unit.id]
                    if p.role in roles and p.role != Role.DEPARTMENT_USER
                )
                if found:
                    break
            self._nearest[key] = found
        return self._nearest[key]

    def department_staff(self, dept_id: int) -> list[int]:
        return self.staff_of_department[dept_id]

    # --- time ----------------------------------------------------------------------------------------

    def limit(self, category: CategoryInfo, stage: str, level: str) -> tuple[Decimal, str] | None:
        """services.time_limit over the limits read at the start: the 小类's, its 大类's, the default."""
        for key in (category.id, category.parent_id, None):
            found = self.limits.get((key, stage, level))
            if found is not None:
                return found
        return None

    def stage_deadline(self, category: CategoryInfo, stage: str, level: str, start):
        """services.stage_deadline; day-counted limits end at a day's end, so they are cached per date."""
        limit = self.limit(category, stage, level)
        if limit is None:
            return None
        value, unit = limit
        if unit in (TimeUnit.WORKING_DAYS, TimeUnit.NATURAL_DAYS):
            key = (timezone.localtime(start, local_zone()).date(), value, unit)
            if key not in self._deadlines:
                self._deadlines[key] = deadline(start, value, unit)
            return self._deadlines[key]
        return deadline(start, value, unit)


def unique(items: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(items))


# =====================================================================================================
# One case, stepped through the loop exactly as wangge.cases.services steps it.


@dataclass(slots=True)
class ActionRow:
    kind: str
    time: datetime.datetime
    actor_id: int | None
    actor_label: str
    actor_role: str
    actor_unit_id: int | None
    actor_department_id: int | None
    from_state: str
    to_state: str
    note: str
    data: dict


@dataclass(slots=True)
class AssignmentRow:
    unit_id: int | None
    department_id: int | None
    is_lead: bool
    status: str
    dispatched_from_id: int
    dispatched_by_id: int | None
    dispatched_at: datetime.datetime
    due_at: datetime.datetime | None
    instructions: str
    accepted_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    report: str = ""


@dataclass(slots=True)
class ExtensionRow:
    requested_by_id: int
    requested_at: datetime.datetime
    working_days: int
    reason: str
    status: str = ExtensionStatus.PENDING
    decided_by_id: int | None = None
    decided_at: datetime.datetime | None = None
    decision_note: str = ""


@dataclass(slots=True)
class NoticeRow:
    time: datetime.datetime
    recipient_id: int
    kind: str
    body: str
    numbered: bool  # the case had its number when this was sent (else the title shows the tracking code)
    status_label: str = (
        ""  # for extension decisions, whose title names the decision instead of the case title
    )


@dataclass(slots=True)
class Event:
    """One call the service engine makes: services.<action>(case, by=actor, now=time, **kwargs)."""

    time: datetime.datetime
    key: int
    seq: int
    action: str
    actor_id: int | None
    kwargs: dict


# Deferred values, resolved once every case has its number and its primary key.
NUMBER = "<number>"


@dataclass(frozen=True, slots=True)
class CaseRef:
    key: int


class StoryError(Exception):
    """A story asked for a step the rules would refuse: a bug in the generator, never in the data."""


class CaseSim:
    """The fields of one Case as the services would leave them, with its rows and the calls that made them."""

    def __init__(self, world: World, key: int, today: datetime.datetime, rnd: random.Random):
        self.world, self.key, self.today = world, key, today
        self.uuid = uuid.UUID(int=rnd.getrandbits(128), version=4)
        self.tracking_code = "".join(rnd.choice(services.TRACKING_ALPHABET) for _attempt in range(8))
        self.number = ""
        self.state = ""
        self.actions: list[ActionRow] = []
        self.assignments: list[AssignmentRow] = []
        self.extensions: list[ExtensionRow] = []
        self.notices: list[NoticeRow] = []
        self.events: list[Event] = []
        self.lead: AssignmentRow | None = None
        self.duplicate_of: CaseRef | None = None
        self.household_ids: list[int] = []
        self.stage = Stage.DISPATCH
        self.stage_due_at = self.due_at = self.kpi_due_at = None
        self.overdue_at = self.due_soon_notified_at = self.paused_at = None
        self.registered_at = self.closed_at = self.rated_at = self.published_at = None
        self.held_from_state = self.reject_reason = self.resolved_level = self.result = ""
        self.rating = self.rating_comment = self.public_summary = self.urge_level = ""
        self.resolved_in_place = False
        self.mediation_outcome = self.petition_channel = ""
        # Two more draws from the client id's random bits, so the story's random stream stays as it was:
        # the channel a petition came by when its source does not say, and whether a mediation succeeds.
        self.channel_roll = (self.uuid.int & 0xFFFF) / 0x10000
        self.mediation_roll = ((self.uuid.int >> 16) & 0xFFFF) / 0x10000
        self.dispatched_from: UnitInfo | None = None
        self.escalation_count = self.dispatch_count = self.return_count = self.wrong_dispatch_count = 0
        self.rework_count = self.reopen_count = self.extension_count = 0
        self.version = 1
        self.reporter_id: int | None = None
        self.reporter_name = ""
        self.created_at = self.updated_at = None

    # --- recording -----------------------------------------------------------------------------------

    def _event(self, time_, action, actor_id, **kwargs):
        self.events.append(Event(time_, self.key, len(self.events), action, actor_id, kwargs))

    def _record(self, kind, t, by, before, note="", data=None, label=""):
        post = self.world.post_of.get(by) if by is not None else None
        self.actions.append(
            ActionRow(
                kind,
                t,
                by,
                label,
                post.role if post else "",
                post.unit_id if post else None,
                post.department_id if post else None,
                before,
                self.state,
                note,
                data or {},
            )
        )
        self.updated_at = t

    def _save(self):
        self.version += 1

    def _notify(self, users, kind, t, body=""):
        for user_id in unique(users):
            self.notices.append(NoticeRow(t, user_id, kind, body, self.registered_at is not None))

    def _require(self, *states):
        if self.state not in states:
            raise StoryError(f"case {self.key}: a step needs {states}, the case is {self.state}")

    def _deadline(self, stage, level, t):
        return self.world.stage_deadline(self.category, stage, level, t)

    def _start_owner_clock(self, t, keep_kpi=False):
        level = self.owner.level
        self.due_at = self._deadline(Stage.HANDLING, level, t)
        if not (keep_kpi and self.kpi_due_at):
            self.kpi_due_at = self.due_at
        self.overdue_at = None
        self.due_soon_notified_at = None
        if level in (HandlerLevel.GRID, HandlerLevel.VILLAGE):
            self.stage, self.stage_due_at = Stage.HANDLING, self.due_at
        else:
            self.stage = Stage.DISPATCH
            self.stage_due_at = self._deadline(Stage.DISPATCH, level, t) or self.due_at

    def _close(self, t):
        self.closed_at = t
        self.stage_due_at = None
        self.urge_level = ""

    def _assignment_staff(self, assignment: AssignmentRow | None) -> list[int]:
        if assignment is None:
            return []
        if assignment.department_id:
            return self.world.department_staff(assignment.department_id)
        return self.world.nearest_staff(assignment.unit_id, Capability.HANDLE_CASES)

    def _open_co(self):
        ordered = sorted(
            (a for a in self.assignments if not a.is_lead),
            key=lambda a: a.dispatched_at,  # Assignment.Meta.ordering; ids follow creation
        )
        return [a for a in ordered if a.status in (AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED)]

    def _acts_for(self, user_id, assignment) -> bool:
        post = self.world.post_of[user_id]
        if assignment.department_id:
            return post.department_id == assignment.department_id
        unit = self.world.units[assignment.unit_id]
        if post.role == Role.SYSTEM_ADMIN:
            return True
        return post.role != Role.DEPARTMENT_USER and self.world.units[post.unit_id].path.startswith(unit.path)

    # --- the steps (each mirrors the service of the same name) ---------------------------------------

    def report(
        self,
        t,
        *,
        reporter: int | None,
        source: str,
        category: CategoryInfo,
        unit: UnitInfo,
        title: str,
        description: str,
        lng: float,
        lat: float,
        address: str,
        reporter_name: str = "",
        household: HouseholdInfo | None = None,
        register_now: bool = False,
    ):
        self.category, self.source, self.unit, self.owner = category, source, unit, unit
        self.title, self.description, self.lng, self.lat, self.address = title, description, lng, lat, address
        self.severity = category.severity
        if category.group == StatisticsGroup.PETITION:
            self.petition_channel = PETITION_CHANNEL_OF_SOURCE.get(source) or petition_channel(
                self.channel_roll
            )
        self.reporter_id, self.reporter_name = reporter, reporter_name
        self.household_ids = [household.id] if household else []
        self.created_at = t
        self.state = CaseState.REPORTED
        self.stage = Stage.DISPATCH
        self.stage_due_at = self._deadline(Stage.DISPATCH, unit.level, t)
        self._event(
            t,
            "report",
            reporter,
            source=source,
            description=description,
            title=title,
            category=category.id,
            lng=lng,
            lat=lat,
            address=address,
            client_uuid=self.uuid,
            households=list(self.household_ids),
            reporter_name=reporter_name,
            register_now=register_now,
            petition_channel=self.petition_channel,
            tracking_code=self.tracking_code,
        )
        label = "" if reporter is not None else (reporter_name or _("Resident"))
        self._record(ActionKind.REPORT, t, reporter, "", label=label, data={"source": source})
        if register_now:
            self._register(t, reporter, "")
        else:
            self._notify(
                self.world.nearest_staff(unit.id, Capability.HANDLE_CASES), NotificationKind.REPORTED, t
            )

    def verify(self, t, by, note):
        self._require(CaseState.REPORTED)
        self._event(t, "verify", by, note=note)
        before = self.state
        self.state = CaseState.VERIFIED
        self._save()
        self._record(ActionKind.VERIFY, t, by, before, note=note)

    def register(self, t, by, note=""):
        self._require(CaseState.REPORTED, CaseState.VERIFIED)
        self._event(t, "register", by, note=note, petition_channel=self.petition_channel)
        self._register(t, by, note)

    def _register(self, t, by, note):
        before = self.state
        self.state = CaseState.REGISTERED
        self.registered_at = t
        self.number = NUMBER
        self._start_owner_clock(t)
        self._save()
        data = {"number": NUMBER, "category": self.category.code}
        if self.petition_channel:
            data["petition_channel"] = self.petition_channel
        self._record(ActionKind.REGISTER, t, by, before, note=note, data=data)

    def reject(self, t, by, reason, note, duplicate_of: CaseRef | None = None):
        self._require(CaseState.REPORTED, CaseState.VERIFIED)
        self._event(t, "reject", by, reason=reason, note=note, duplicate_of=duplicate_of)
        before = self.state
        self.state = CaseState.REJECTED
        self.reject_reason = reason
        self.duplicate_of = duplicate_of if reason == RejectReason.DUPLICATE else None
        self.closed_at = t
        self.stage_due_at = None
        self._save()
        data = {"reason": reason, "duplicate_of": duplicate_of}
        self._record(ActionKind.REJECT, t, by, before, note=note, data=data)

    def handle_in_place(self, t, by, result, mediation_outcome=""):
        self._require(CaseState.REGISTERED)
        self._event(t, "handle_in_place", by, result=result, mediation_outcome=mediation_outcome)
        before = self.state
        self.state = CaseState.CLOSED
        self.result = result
        self.mediation_outcome = mediation_outcome
        self.resolved_level = self.owner.level
        self.resolved_in_place = True
        self._close(t)
        self._save()
        data = {"mediation_outcome": mediation_outcome} if mediation_outcome else None
        self._record(ActionKind.HANDLE_IN_PLACE, t, by, before, note=result, data=data)

    def escalate(self, t, by, reason, system=False):
        self._require(CaseState.REGISTERED)
        if not system:
            self._event(t, "escalate", by, reason=reason)
        parent = self.world.units[self.owner.parent_id]
        before, from_unit = self.state, self.owner
        self.owner = parent
        self.escalation_count += 1
        self._start_owner_clock(t)
        self._save()
        data = {"from_unit": from_unit.code, "to_unit": parent.code, "automatic": system}
        self._record(
            ActionKind.ESCALATE, t, by, before, note=reason, label=_("System") if system else "", data=data
        )
        desk = (
            Capability.DISPATCH_CASES
            if parent.level in (HandlerLevel.TOWNSHIP, HandlerLevel.COUNTY)
            else Capability.HANDLE_CASES
        )
        recipients = self.world.unit_staff(parent.id, desk) or self.world.nearest_staff(
            parent.id, Capability.HANDLE_CASES
        )
        self._notify(recipients, NotificationKind.ESCALATED, t, reason)

    def _lapse_pending_extensions(self, t):
        for e in self.extensions:
            if e.status == ExtensionStatus.PENDING:
                e.status, e.decided_at = ExtensionStatus.WITHDRAWN, t

    def _move_open_assignment_deadlines(self):
        for a in self.assignments:
            if a.status in (AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED):
                a.due_at = self.due_at

    def dispatch(
        self, t, by, lead: tuple[str, int], co_handlers: Sequence[tuple[str, int]] = (), instructions=""
    ):
        self._require(CaseState.REGISTERED)
        self._event(t, "dispatch", by, lead=lead, co_handlers=list(co_handlers), instructions=instructions)
        targets = [lead, *co_handlers]
        level = HandlerLevel.DEPARTMENT if lead[0] == "department" else self.world.units[lead[1]].level
        due = self._deadline(Stage.HANDLING, level, t)
        before = self.state
        self.state = CaseState.DISPATCHED
        for a in self.assignments:
            if a.status in (AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED):
                a.status, a.finished_at = AssignmentStatus.WITHDRAWN, t
        self._lapse_pending_extensions(t)
        # services.dispatch: the dispatcher's own post unit takes the case over when it sits above the owner.
        post_unit = self.world.units[self.world.post_of[by].unit_id]
        dispatcher = post_unit if self.owner.path.startswith(post_unit.path) else self.owner
        taken_over_from = self.owner if self.owner.id != dispatcher.id else None
        created = []
        for index, (kind, target) in enumerate(targets):
            created.append(
                AssignmentRow(
                    unit_id=target if kind == "unit" else None,
                    department_id=target if kind == "department" else None,
                    is_lead=index == 0,
                    status=AssignmentStatus.PENDING,
                    dispatched_from_id=dispatcher.id,
                    dispatched_by_id=by,
                    dispatched_at=t,
                    due_at=due,
                    instructions=instructions.strip(),
                )
            )
        self.assignments.extend(created)
        self.owner = dispatcher
        self.lead = created[0]
        self.dispatched_from = dispatcher
        if self.dispatch_count == 0 or self.kpi_due_at is None:
            self.kpi_due_at = due
        elif due is not None:
            self.kpi_due_at = min(self.kpi_due_at, due)
        self.dispatch_count += 1
        self.due_at = due
        self.urge_level = ""
        self.stage, self.stage_due_at = Stage.HANDLING, due
        self.overdue_at = self.due_soon_notified_at = None
        self._save()
        data = {
            "lead": self._assignee(created[0]),
            "co_handlers": [self._assignee(a) for a in created[1:]],
            "due_at": due.isoformat() if due else None,
            **({"taken_over_from": taken_over_from.code} if taken_over_from else {}),
        }
        self._record(ActionKind.DISPATCH, t, by, before, note=instructions, data=data)
        for assignment in created:
            self._notify(self._assignment_staff(assignment), NotificationKind.DISPATCHED, t, instructions)

    def lead_target(self) -> tuple[str, int] | None:
        if self.lead is None:
            return None
        if self.lead.department_id:
            return ("department", self.lead.department_id)
        return ("unit", self.lead.unit_id)

    def _assignee(self, assignment: AssignmentRow) -> str:
        if assignment.department_id:
            return self.world.departments[assignment.department_id].name
        return self.world.units[assignment.unit_id].label

    def accept(self, t, by, note=""):
        self._require(CaseState.DISPATCHED)
        self._event(t, "accept", by, note=note)
        before = self.state
        self.state = CaseState.HANDLING
        self.lead.status, self.lead.accepted_at = AssignmentStatus.ACCEPTED, t
        for a in self.assignments:
            if not a.is_lead and a.status == AssignmentStatus.PENDING:
                a.status, a.accepted_at = AssignmentStatus.ACCEPTED, t
        self._save()
        self._record(ActionKind.ACCEPT, t, by, before, note=note)

    def return_(self, t, by, reason, wrongly_dispatched=True):
        self._require(CaseState.DISPATCHED)
        self._event(t, "return_", by, reason=reason, wrongly_dispatched=wrongly_dispatched)
        before = self.state
        self.state = CaseState.REGISTERED
        self.lead.status, self.lead.finished_at, self.lead.report = AssignmentStatus.RETURNED, t, reason
        for a in self.assignments:
            if a.status in (AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED):
                a.status, a.finished_at = AssignmentStatus.WITHDRAWN, t
        self.owner = self.dispatched_from
        self.lead = None
        self.return_count += 1
        if wrongly_dispatched:
            self.wrong_dispatch_count += 1
        self.stage = Stage.DISPATCH
        self.stage_due_at = self._deadline(Stage.DISPATCH, self.owner.level, t)
        self.overdue_at = self.due_soon_notified_at = None
        self._lapse_pending_extensions(t)
        self._save()
        self._record(
            ActionKind.RETURN, t, by, before, note=reason, data={"wrongly_dispatched": wrongly_dispatched}
        )
        self._notify(
            self.world.unit_staff(self.owner.id, Capability.DISPATCH_CASES),
            NotificationKind.RETURNED,
            t,
            reason,
        )

    def report_back(self, t, by, note):
        self._require(CaseState.HANDLING)
        mine = [a for a in self._open_co() if self._acts_for(by, a)]
        if not mine:
            raise StoryError(f"case {self.key}: user {by} has no co-handling to report back on")
        self._event(t, "report_back", by, note=note)
        assignment = mine[0]
        assignment.status, assignment.finished_at, assignment.report = AssignmentStatus.REPORTED_BACK, t, note
        before = self.state
        self._save()
        self._record(
            ActionKind.REPORT_BACK, t, by, before, note=note, data={"assignee": self._assignee(assignment)}
        )
        self._notify(self._assignment_staff(self.lead), NotificationKind.SUBMITTED, t, note)

    def submit(self, t, by, result, mediation_outcome=""):
        self._require(CaseState.HANDLING)
        if self._open_co():
            raise StoryError(f"case {self.key}: submitted before the co-handlers reported back")
        self._event(t, "submit", by, result=result, mediation_outcome=mediation_outcome)
        before = self.state
        self.state = CaseState.SUBMITTED
        self.result = result
        self.mediation_outcome = mediation_outcome
        self._lapse_pending_extensions(t)
        self.lead.status, self.lead.finished_at, self.lead.report = AssignmentStatus.DONE, t, result
        self.stage = Stage.VERIFICATION
        self.stage_due_at = self._deadline(Stage.VERIFICATION, self.dispatched_from.level, t)
        self.overdue_at = self.due_soon_notified_at = None
        self._save()
        data = {"mediation_outcome": mediation_outcome} if mediation_outcome else None
        self._record(ActionKind.SUBMIT, t, by, before, note=result, data=data)
        checkers = self.world.unit_staff(self.dispatched_from.id, Capability.HANDLE_CASES)
        if self.reporter_id:
            checkers.append(self.reporter_id)
        self._notify(checkers, NotificationKind.SUBMITTED, t, result)

    def check(self, t, by, passed, note):
        self._require(CaseState.SUBMITTED)
        self._event(t, "check", by, passed=passed, note=note)
        before = self.state
        if passed:
            self.state = CaseState.CLOSED
            self.resolved_level = self.owner.level
            self._close(t)
            for a in self.assignments:
                if a.status == AssignmentStatus.REPORTED_BACK:
                    a.status = AssignmentStatus.DONE
        else:
            self.state = CaseState.HANDLING
            self.rework_count += 1
            self.lead.status, self.lead.finished_at = AssignmentStatus.ACCEPTED, None
            self.stage, self.stage_due_at = Stage.HANDLING, self.due_at
            self.overdue_at = self.due_soon_notified_at = None
        self._save()
        self._record(ActionKind.CHECK_PASS if passed else ActionKind.CHECK_FAIL, t, by, before, note=note)
        if not passed:
            self._notify(self._assignment_staff(self.lead), NotificationKind.CHECK_FAILED, t, note)

    def rate(self, t, by, rating, comment=""):
        self._require(CaseState.CLOSED)
        self._event(t, "rate", by, rating=rating, comment=comment)
        before = self.state
        self.rating, self.rating_comment, self.rated_at = rating, comment.strip()[:500], t
        self._save()
        label = "" if by is not None else (self.reporter_name or _("Resident"))
        self._record(
            ActionKind.RATE, t, by, before, note=self.rating_comment, label=label, data={"rating": rating}
        )
        if rating == Rating.UNSATISFIED:
            recipients = self.world.nearest_staff(self.owner.id, Capability.DISPATCH_CASES)
            self._notify(recipients, NotificationKind.REOPENED, t, self.rating_comment)

    def reopen(self, t, by, note):
        self._require(CaseState.CLOSED)
        self._event(t, "reopen", by, note=note)
        before = self.state
        self.state = CaseState.REGISTERED
        self.reopen_count += 1
        self.closed_at = None
        self.rating = self.rating_comment = ""
        self.rated_at = None
        self.resolved_level = ""
        self.resolved_in_place = False
        self.published_at = None
        self.lead = None
        self._start_owner_clock(t, keep_kpi=True)
        self._save()
        self._record(ActionKind.REOPEN, t, by, before, note=note)

    def publish(self, t, by, summary):
        self._require(CaseState.CLOSED)
        self._event(t, "publish", by, summary=summary)
        before = self.state
        self.published_at, self.public_summary = t, summary
        self._save()
        self._record(ActionKind.PUBLISH, t, by, before, note=summary)

    def hold(self, t, by, reason):
        self._require(CaseState.REGISTERED, CaseState.DISPATCHED, CaseState.HANDLING)
        self._event(t, "hold", by, reason=reason)
        before = self.state
        self.held_from_state = before
        self.state = CaseState.ON_HOLD
        self.paused_at = t
        self._lapse_pending_extensions(t)
        self._save()
        self._record(ActionKind.HOLD, t, by, before, note=reason)

    def follow_up(self, t, by, note):
        self._require(CaseState.ON_HOLD)
        self._event(t, "follow_up", by, note=note)
        self._save()
        self._record(ActionKind.FOLLOW_UP, t, by, self.state, note=note)

    def resume(self, t, by, note):
        self._require(CaseState.ON_HOLD)
        self._event(t, "resume", by, note=note)
        before, paused_at = self.state, self.paused_at
        self.state = self.held_from_state
        self.due_at = shift(self.due_at, paused_at, t)
        self.kpi_due_at = shift(self.kpi_due_at, paused_at, t)
        self.stage_due_at = shift(self.stage_due_at, paused_at, t)
        self.paused_at, self.held_from_state = None, ""
        self.due_soon_notified_at = None
        if self.stage_due_at and self.stage_due_at > t:
            self.overdue_at = None
        self._move_open_assignment_deadlines()
        self._save()
        data = {"paused_working_days": round(working_days_between(paused_at, t), 2)}
        self._record(ActionKind.RESUME, t, by, before, note=note, data=data)

    def _responsible_staff(self) -> list[int]:
        if self.state in (CaseState.DISPATCHED, CaseState.HANDLING) and self.lead is not None:
            return self._assignment_staff(self.lead)
        if self.state == CaseState.SUBMITTED and self.dispatched_from is not None:
            return self.world.unit_staff(self.dispatched_from.id, Capability.HANDLE_CASES)
        return self.world.nearest_staff(self.owner.id, Capability.HANDLE_CASES)

    def urge(self, t, by, level, note, system=False):
        self._require(
            CaseState.REPORTED,
            CaseState.VERIFIED,
            CaseState.REGISTERED,
            CaseState.DISPATCHED,
            CaseState.HANDLING,
            CaseState.SUBMITTED,
        )
        if not system:
            self._event(t, "urge", by, level=level, note=note)
        before = self.state
        if URGE_ORDER[level] > URGE_ORDER[self.urge_level]:
            self.urge_level = level
        self._save()
        data = {"level": level, "automatic": system}
        self._record(
            ActionKind.URGE, t, by, before, note=note, label=_("System") if system else "", data=data
        )
        self._notify(self._responsible_staff(), NotificationKind.URGED, t, note)

    def request_extension(self, t, by, working_days, reason):
        self._require(CaseState.DISPATCHED, CaseState.HANDLING)
        self._event(t, "request_extension", by, working_days=working_days, reason=reason)
        before = self.state
        self.extensions.append(ExtensionRow(by, t, working_days, reason))
        self._save()
        self._record(
            ActionKind.REQUEST_EXTENSION, t, by, before, note=reason, data={"working_days": working_days}
        )
        self._notify(
            self.world.unit_staff(self.dispatched_from.id, Capability.DISPATCH_CASES),
            NotificationKind.EXTENSION,
            t,
            reason,
        )

    def decide_extension(self, t, by, approve, note=""):
        self._require(CaseState.DISPATCHED, CaseState.HANDLING)
        self._event(t, "decide_extension", by, approve=approve, note=note)
        extension = next(e for e in self.extensions if e.status == ExtensionStatus.PENDING)
        before = self.state
        extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
        extension.decided_by_id, extension.decided_at, extension.decision_note = by, t, note
        if approve:
            base = max(self.due_at or t, t)
            self.due_at = deadline(base, Decimal(extension.working_days), TimeUnit.WORKING_DAYS)
            if self.stage == Stage.HANDLING:
                self.stage_due_at = self.due_at
                self.overdue_at = self.due_soon_notified_at = None
            self.extension_count += 1
            self._move_open_assignment_deadlines()
            due_text = self.due_at.isoformat()
        else:  # the service re-read the case, so the deadline it records is the stored (UTC) one
            due_text = self.due_at.astimezone(datetime.timezone.utc).isoformat() if self.due_at else None
        self._save()
        self._record(
            ActionKind.APPROVE_EXTENSION if approve else ActionKind.REFUSE_EXTENSION,
            t,
            by,
            before,
            note=note,
            data={"working_days": extension.working_days, "due_at": due_text},
        )
        status = str(ExtensionStatus(extension.status).label)
        self.notices.append(
            NoticeRow(t, extension.requested_by_id, NotificationKind.EXTENSION, note, True, status)
        )

    # --- the worker's overdue sweep ------------------------------------------------------------------

    def advance(self, until) -> bool:
        """Run the overdue sweeps that fall before `until` (and not after today). True when one of them
        moved the case up a level, so whoever planned the next step must plan again."""
        moved = False
        while self.state in OPEN_STATES and self.stage_due_at is not None and self.overdue_at is None:
            # The first sweep after the deadline, and after the step that set this deadline or cleared
            # the last overdue mark (a rework can reopen a stage whose deadline has already passed).
            tick = next_tick(max(self.stage_due_at, self.updated_at))
            if tick >= until or tick > self.today:
                break
            self._event(tick, "sweep", None)
            self.overdue_at = tick  # sweeps._claim
            self._save()
            if self.state == CaseState.REGISTERED and self.owner.depth > 1:
                self.escalate(tick, None, _("Deadline passed: escalated automatically."), system=True)
                moved = True
            else:
                level = (
                    UrgeLevel.RED
                    if URGE_ORDER[self.urge_level] >= URGE_ORDER[UrgeLevel.YELLOW]
                    else UrgeLevel.YELLOW
                )
                due = timezone.localtime(self.stage_due_at, local_zone()).strftime("%Y-%m-%d %H:%M")
                self.urge(tick, None, level, _("Deadline %(due)s passed.") % {"due": due}, system=True)
                parent = self.owner.parent_id
                supervisors = self.world.nearest_staff(parent, Capability.SUPERVISE_CASES) if parent else []
                self._notify(supervisors, NotificationKind.OVERDUE, tick)
        return moved


def next_tick(moment: datetime.datetime) -> datetime.datetime:
    """The first ten-minute mark strictly after `moment`: when the worker's sweep sees it overdue."""
    stamp = moment.timestamp()
    step = TICK.total_seconds()
    return datetime.datetime.fromtimestamp((math.floor(stamp / step) + 1) * step, tz=datetime.timezone.utc)


def shift(due, paused_at, now):
    """services._shift: a deadline moves by the working time its clock stood still, passed or not."""
    if due is None:
        return None
    return add_working_duration(due, working_days_between(paused_at, now))


# =====================================================================================================
# Stories: who does what next, and when. Each step goes through CaseSim, so only legal steps happen.

MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)
FIELD_HOURS = (datetime.time(7, 30), datetime.time(21, 0))


def at_local(day: datetime.date, moment: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, moment, tzinfo=local_zone())


# 信访形式 of petitions whose source does not tell (assigned from above, a department): mostly online, so
# the county is near the ≥60% target of seed 004, as its real 网上信访 share would be.
PETITION_CHANNEL_SHARES = (
    (0.72, PetitionChannel.ONLINE),
    (0.82, PetitionChannel.LETTER),
    (0.95, PetitionChannel.VISIT),
    (1.0, PetitionChannel.PHONE),
)
# Share of disputes whose mediation succeeds: about the ≥95% target of seed 004.
MEDIATION_SUCCESS = 0.96


def petition_channel(roll: float) -> str:
    return next(channel for share, channel in PETITION_CHANNEL_SHARES if roll < share)


def mediation_outcome_of(category: CategoryInfo, roll: float) -> str:
    """The outcome a dispute's mediation has for a roll in [0, 1); nothing for other cases."""
    if category.group != StatisticsGroup.DISPUTE:
        return ""
    return MediationOutcome.SUCCEEDED if roll < MEDIATION_SUCCESS else MediationOutcome.FAILED


def mediation_outcome(sim: CaseSim) -> str:
    return mediation_outcome_of(sim.category, sim.mediation_roll)


def snap(t: datetime.datetime, rnd: random.Random, *, field: bool) -> datetime.datetime:
    """`t`, or the next moment people are at work: grid workers 07:30–21:00 every day, desks and
    departments 08:30–18:00 on working days."""
    local = t.astimezone(local_zone())
    day = local.date()
    opens, closes = FIELD_HOURS if field else (OFFICE_OPEN, OFFICE_CLOSE)
    if (field or is_workday(day)) and opens <= local.time() < closes:
        return t
    if not ((field or is_workday(day)) and local.time() < opens):
        day += DAY
        while not field and not is_workday(day):
            day += DAY
    return at_local(day, opens) + MINUTE * rnd.uniform(5, 100)


@dataclass
class Plan:
    """What will happen to a case, decided when it is reported; the story adapts when a sweep intervenes."""

    target_depth: int
    township_handles: bool = False
    dispatch_to: tuple[str, int] | None = None
    wrong_target: tuple[str, int] | None = None
    co_handlers: list[tuple[str, int]] = field(default_factory=list)
    reworks: int = 0
    extension: tuple[int, bool] | None = None
    manual_urge: bool = False
    ratings: list[str] = field(default_factory=list)
    rater: str = "grid"  # grid | reporter | resident
    reopen: bool = False
    publish: bool = False
    hold: bool = False
    resume_after: float | None = None  # days in long-term management before it is taken out
    late: float = 0.05  # chance that a stage runs past its deadline
    reject: tuple[str, CaseRef | None] | None = None
    checker_is_reporter: bool = False


class Story:
    """Drives one CaseSim from its report to wherever it stands today."""

    MAX_STEPS = 120

    def __init__(self, world: World, sim: CaseSim, plan: Plan, rnd: random.Random, texts: Texts):
        self.world, self.sim, self.plan, self.rnd, self.texts = world, sim, plan, rnd, texts
        self.urgent = sim.category.urgent
        self.wrong_used = False
        self.extension_asked = False
        self.urged = False
        self.reworks_left = plan.reworks
        self.reopened = False
        self.held = False

    # --- time ------------------------------------------------------------------------------------------

    def after(self, lo_minutes, hi_minutes, *, field=False):
        t = self.sim.updated_at + MINUTE * self.rnd.uniform(lo_minutes, hi_minutes)
        return t if self.urgent else snap(t, self.rnd, field=field)

    def within_stage(self, lo, hi, *, field=False, late=None):
        """A moment in the current stage: a share of the time left before its deadline, now and then past it."""
        sim, rnd = self.sim, self.rnd
        now, due = sim.updated_at, sim.stage_due_at
        if due is None or due <= now:
            return self.after(30, 600, field=field)
        span = due - now
        if rnd.random() < (self.plan.late if late is None else late):
            t = due + span * rnd.uniform(0.05, 0.8) + MINUTE * rnd.uniform(20, 240)
            return t if self.urgent else snap(t, rnd, field=field)
        t = now + span * rnd.uniform(lo, hi)
        snapped = t if self.urgent else snap(t, rnd, field=field)
        return snapped if snapped < due else t

    # --- people ------------------------------------------------------------------------------------------

    def desk(self, unit: UnitInfo) -> int:
        return self.world.desk(unit.id)

    def handler(self) -> int:
        lead = self.sim.lead
        if lead.department_id:
            return self.world.department_user(lead.department_id)
        return self.world.desk(lead.unit_id)

    def supervisor(self) -> int:
        """Township staff urge what departments and villages do for them; the county urges the rest."""
        unit = self.sim.unit
        township = self.world.units[unit.township_id]
        if self.sim.owner.depth > 1 and self.sim.state != CaseState.REGISTERED:
            return self.world.desk(township.id)
        return self.world.desk(self.world.county.id)

    # --- the loop --------------------------------------------------------------------------------------

    def run(self) -> None:
        sim = self.sim
        for _attempt in range(self.MAX_STEPS):
            step = self.next_step()
            if step is None:
                return
            t, act = step
            # Distinct, never on a sweep's ten-minute mark, and after the step before it.
            t = t.replace(microsecond=self.rnd.randrange(1, 1_000_000))
            if t <= sim.updated_at:
                t = sim.updated_at + MINUTE * self.rnd.uniform(1, 10)
            if sim.advance(t):
                continue  # a sweep moved the case up a level: plan again from there
            if t > sim.today:
                return
            act(t)
        raise StoryError(f"case {sim.key}: more than {self.MAX_STEPS} steps")

    def next_step(self):
        sim, plan, rnd, world = self.sim, self.plan, self.rnd, self.world
        state = sim.state
        if state == CaseState.REPORTED:
            by = self.desk(sim.owner)
            if sim.source in SOURCES_NEEDING_VERIFICATION:
                return self.within_stage(0.02, 0.3, field=True, late=0), lambda t: sim.verify(
                    t, by, rnd.choice(VERIFY_NOTES)
                )
            return self.within_stage(0.02, 0.4, field=True, late=0), lambda t: sim.register(t, by)
        if state == CaseState.VERIFIED:
            by = self.desk(sim.owner)
            if plan.reject:
                reason, original = plan.reject
                note = rnd.choice(REJECT_NOTES[reason])
                return self.within_stage(0.05, 0.4, field=True, late=0), lambda t: sim.reject(
                    t, by, reason, note, original
                )
            return self.within_stage(0.05, 0.4, field=True, late=0), lambda t: sim.register(t, by)
        if state == CaseState.REGISTERED:
            return self.registered_step()
        if state == CaseState.DISPATCHED:
            by = self.handler()
            if sim.lead_target() == plan.wrong_target and not self.wrong_used:
                self.wrong_used = True
                return self.after(60, 600), lambda t: sim.return_(t, by, RETURN_REASONS[0], True)
            return self.after(10, 300), lambda t: sim.accept(t, by, rnd.choice(ACCEPT_NOTES))
        if state == CaseState.HANDLING:
            return self.handling_step()
        if state == CaseState.SUBMITTED:
            reporter_checks = plan.checker_is_reporter and sim.reporter_id is not None
            by = sim.reporter_id if reporter_checks else self.desk(sim.dispatched_from)
            passed = self.reworks_left == 0
            if not passed:
                self.reworks_left -= 1
            note = rnd.choice(CHECK_PASS_NOTES if passed else CHECK_FAIL_NOTES)
            return self.within_stage(
                0.05, 0.7, field=reporter_checks, late=plan.late / 2
            ), lambda t: sim.check(t, by, passed, note)
        if state == CaseState.CLOSED:
            return self.closed_step()
        if state == CaseState.ON_HOLD:
            county = self.desk(world.county)
            resume_at = sim.paused_at + DAY * plan.resume_after if plan.resume_after else None
            t = self.after(60 * 24 * 15, 60 * 24 * 42)
            if resume_at is not None and t > resume_at:
                return snap(resume_at, rnd, field=False), lambda t: sim.resume(
                    t, county, rnd.choice(RESUME_NOTES)
                )
            by = county if rnd.random() < 0.4 else self.desk(sim.unit)
            return t, lambda t: sim.follow_up(t, by, rnd.choice(FOLLOW_UP_NOTES))
        return None

    def registered_step(self):
        sim, plan, rnd, texts = self.sim, self.plan, self.rnd, self.texts
        owner = sim.owner
        by = self.desk(owner)
        if plan.hold and not self.held and owner.depth == 1:
            self.held = True
            county = self.desk(owner)
            return self.within_stage(0.1, 0.8, late=0), lambda t: sim.hold(
                t, county, rnd.choice(HOLD_REASONS)
            )
        if owner.depth > plan.target_depth:
            reason = rnd.choice(ESCALATE_REASONS)
            return self.after(5, 120, field=owner.depth >= 4), lambda t: sim.escalate(t, by, reason)
        if owner.depth >= 3 or (owner.depth == 2 and plan.township_handles):
            result = texts.result(sim.category, rnd)
            outcome = mediation_outcome(sim)
            return self.within_stage(0.03, 0.75, field=owner.depth >= 4), lambda t: sim.handle_in_place(
                t, by, result, outcome
            )
        lead = plan.dispatch_to
        co: list[tuple[str, int]] = []
        if plan.wrong_target and not self.wrong_used:
            lead = plan.wrong_target
        else:
            co = [c for c in plan.co_handlers if c != lead]
        instructions = rnd.choice(DISPATCH_INSTRUCTIONS)
        return self.within_stage(0.05, 0.8), lambda t: sim.dispatch(t, by, lead, co, instructions)

    def handling_step(self):
        sim, plan, rnd, texts = self.sim, self.plan, self.rnd, self.texts
        waiting = sim._open_co()
        if waiting:
            co = waiting[0]
            by = (
                self.world.department_user(co.department_id)
                if co.department_id
                else self.world.desk(co.unit_id)
            )
            return self.within_stage(0.1, 0.6), lambda t: sim.report_back(
                t, by, rnd.choice(REPORT_BACK_NOTES)
            )
        pending = any(e.status == ExtensionStatus.PENDING for e in sim.extensions)
        if pending:
            by = self.desk(sim.dispatched_from)
            approve = plan.extension[1]
            note = rnd.choice(EXTENSION_DECISIONS[approve])
            return self.after(30, 480), lambda t: sim.decide_extension(t, by, approve, note)
        if plan.extension and not self.extension_asked:
            self.extension_asked = True
            days, _approve = plan.extension
            by = self.handler()
            reason = rnd.choice(EXTENSION_REASONS)
            return self.within_stage(0.3, 0.8, late=0), lambda t: sim.request_extension(t, by, days, reason)
        if plan.manual_urge and not self.urged:
            self.urged = True
            by = self.supervisor()
            note = rnd.choice(URGE_NOTES)
            return self.within_stage(0.3, 0.7, late=0), lambda t: sim.urge(t, by, UrgeLevel.NORMAL, note)
        by = self.handler()
        result = texts.result(sim.category, rnd)
        outcome = mediation_outcome(sim)
        return self.within_stage(0.2, 0.9), lambda t: sim.submit(t, by, result, outcome)

    def closed_step(self):
        sim, plan, rnd, texts, world = self.sim, self.plan, self.rnd, self.texts, self.world
        if plan.ratings and not sim.rating:
            rating = plan.ratings.pop(0)
            comment = rnd.choice(RATING_COMMENTS[rating])
            if plan.rater == "resident":
                by = None
            elif plan.rater == "reporter" and sim.reporter_id is not None:
                by = sim.reporter_id
            else:
                by = self.desk(sim.unit)
            return self.after(60, 60 * 24 * 3, field=True), lambda t: sim.rate(t, by, rating, comment)
        if sim.rating == Rating.UNSATISFIED and plan.reopen and not self.reopened:
            self.reopened = True
            owner = sim.owner
            dispatcher = owner if owner.depth <= 2 else world.units[owner.township_id]
            by = self.desk(dispatcher)
            return self.after(30, 600), lambda t: sim.reopen(t, by, rnd.choice(REOPEN_NOTES))
        if plan.publish and sim.published_at is None:
            plan.publish = False
            by = self.desk(world.units[sim.unit.village_id])
            summary = texts.summary(sim.category, sim.result, rnd)
            return self.after(60 * 12, 60 * 24 * 6), lambda t: sim.publish(t, by, summary)
        return None


class Texts:
    """The words of a case: what was reported, what was done, what the public board says."""

    @staticmethod
    def _top_key(category: CategoryInfo, table: dict) -> str | None:
        return next((word for word in table if word in category.top_name), None)

    def story(self, category: CategoryInfo, rnd: random.Random, place: str, who: str) -> tuple[str, str]:
        options = STORY_TEXTS.get(category.name)
        if options is None:
            key = self._top_key(category, TOP_TEXTS)
            options = TOP_TEXTS[key] if key else None
        if options is None:
            return (category.name, f"{place}发现{category.name}问题，需核实处置。")
        title, description = rnd.choice(options)
        return title, description.format(place=place, who=who)

    def result(self, category: CategoryInfo, rnd: random.Random) -> str:
        key = self._top_key(category, RESULTS)
        return rnd.choice(RESULTS[key] if key else DEFAULT_RESULTS)

    def summary(self, category: CategoryInfo, result: str, rnd: random.Random) -> str:
        return rnd.choice(PUBLISH_TEMPLATES).format(category=category.name, result=result)


# =====================================================================================================
# Planning a year: where and when cases arise, and what will become of each.

SEVERITY_WEIGHT = {Severity.GRAVE: 0.15, Severity.MAJOR: 0.5}
LEVEL_WEIGHT = {"grid": 1.4, "village": 1.2, "township": 1.0, "department": 0.9, "county": 0.4}
RURAL_WORDS = ("土地山林", "地质", "森林", "饮水", "畜禽", "面包车", "防汛", "聚餐", "乱砍", "采砂", "自建房")
URBAN_WORDS = ("物业", "噪声", "电动车", "消防通道", "占道", "九小", "诈骗", "出租房屋", "特种设备")
DEDICATED_WORDS = {
    "school": ("心理", "食品", "青少年", "治安", "交通"),
    "market": ("食品", "消防", "占道", "特种设备", "九小"),
    "enterprise": ("安全生产", "劳资", "危险化学品", "消防", "欠薪"),
    "park": ("治安", "噪声", "森林", "病媒"),
    "office_building": ("消防", "物业", "特种设备", "诈骗"),
}
SOURCE_BIAS = (
    (("劳资", "欠薪", "讨薪"), {Source.HOTLINE: 4.0}),
    (("矛盾", "纠纷"), {Source.RESIDENT: 2.0, Source.HOTLINE: 1.5, Source.TALK_OFFICE: 3.0}),
    (("噪声", "停水"), {Source.RESIDENT: 2.0, Source.HOTLINE: 3.0, Source.WECHAT: 2.0}),
    (("占道", "交通"), {Source.VIDEO: 5.0}),
    (("治安", "盗窃", "诈骗"), {Source.VIDEO: 2.0, Source.DEPARTMENT: 3.0}),
    (("信访", "涉众"), {Source.HIGHER_LEVEL: 5.0}),
)
# Where a case is finally resolved, by its category's usual level: (share, target).
PATHS = {
    "grid": ((0.90, "leaf"), (0.03, "grid3"), (0.05, "village"), (0.02, "dispatch")),
    "village": ((0.55, "leaf"), (0.05, "grid3"), (0.35, "village"), (0.05, "dispatch")),
    "township": ((0.35, "leaf"), (0.17, "village"), (0.10, "township"), (0.38, "dispatch")),
    "department": ((0.30, "leaf"), (0.05, "village"), (0.03, "township"), (0.62, "dispatch")),
    "county": ((0.10, "leaf"), (0.35, "dispatch"), (0.55, "county")),
}
INVOLVING = ("矛盾", "特殊", "民生", "心理")
PRIVATE_WORDS = ("涉恐", "邪教", "黄赌毒", "特殊人群", "心理", "治安", "传销", "信访", "矛盾")


@dataclass(slots=True)
class Arrival:
    time: datetime.datetime
    leaf: UnitInfo
    category: CategoryInfo
    source: str


class Planner:
    def __init__(self, world: World, seed: int, today: datetime.datetime, annual: int, rare: float = 1.0):
        self.world, self.seed, self.today, self.annual, self.rare = world, seed, today, annual, rare
        self.rnd = random.Random(seed)
        self.gen = np.random.default_rng(seed)
        self.texts = Texts()
        self.shapes: dict[int, shapely.Geometry] = {}
        self._category_weights: dict = {}
        self.leaves_per_top = Counter(c.parent_id for c in world.categories)
        self.by_leaf: dict[int, list[CaseSim]] = defaultdict(list)
        self._county_departments: list[DeptInfo] | None = None
        self.key = 0

    # --- arrivals ----------------------------------------------------------------------------------------

    def leaf_weights(self) -> np.ndarray:
        weights = []
        for leaf in self.world.leaves:
            households = len(self.world.households.get(leaf.id, ()))
            base = 60.0 if leaf.kind == UnitKind.DEDICATED else households + 40.0
            urban = 1.3 if leaf.area_type == "urban" else 1.0
            weights.append(base**0.8 * urban)
        weights = np.array(weights) * self.gen.lognormal(0.0, 0.35, len(weights))
        return weights / weights.sum()

    def category_weights(self, month: int, leaf: UnitInfo) -> list[float]:
        context = (month, leaf.area_type, leaf.dedicated_type)
        if context not in self._category_weights:
            weights = []
            for c in self.world.categories:
                name = c.top_name + c.name
                w = pick_keyed(TOP_WEIGHTS, c.top_name, 3.0) / self.leaves_per_top[c.parent_id]
                w *= SEVERITY_WEIGHT.get(c.severity, 1.0) * LEVEL_WEIGHT.get(c.default_level, 1.0)
                w *= pick_keyed(SEASONS, c.name, {}).get(month, 1.0)
                if any(word in name for word in RURAL_WORDS):
                    w *= 2.0 if leaf.area_type == "rural" else 0.3
                if any(word in name for word in URBAN_WORDS):
                    w *= 2.0 if leaf.area_type == "urban" else 0.6
                if context[2] and any(word in name for word in DEDICATED_WORDS.get(context[2], ())):
                    w *= 4.0
                weights.append(w)
            total = sum(weights)
            cumulative, running = [], 0.0
            for w in weights:
                running += w / total
                cumulative.append(running)
            self._category_weights[context] = cumulative
        return self._category_weights[context]

    def arrivals(self) -> list[Arrival]:
        world, rnd = self.world, self.rnd
        start = (self.today - DAY * HISTORY_DAYS).astimezone(local_zone()).date()
        days = [start + DAY * i for i in range(HISTORY_DAYS + 1)]
        day_cum, running = [], 0.0
        for day in days:
            running += 1.0 if is_workday(day) else 0.75
            day_cum.append(running)
        counts = self.gen.multinomial(self.annual, self.leaf_weights())
        source_values = [s for s, _w in SOURCE_WEIGHTS]
        found = []
        for leaf, count in zip(world.leaves, counts.tolist(), strict=True):
            for _attempt in range(count):
                day = days[bisect_right(day_cum, rnd.random() * running)]
                cumulative = self.category_weights(day.month, leaf)
                category = world.categories[min(bisect_right(cumulative, rnd.random()), len(cumulative) - 1)]
                name = category.top_name + category.name
                bias = pick_keyed(SOURCE_BIAS, name, {})
                weights = [w * bias.get(s, 1.0) for s, w in SOURCE_WEIGHTS]
                if leaf.kind == UnitKind.DEDICATED:
                    weights[source_values.index(Source.RESIDENT)] *= 0.3
                source = rnd.choices(source_values, weights)[0]
                moment = at_local(day, datetime.time(0)) + MINUTE * self.minute_of_day(source, category, day)
                moment = moment.replace(microsecond=rnd.randrange(1, 1_000_000))
                if moment < self.today:
                    found.append(Arrival(moment, leaf, category, source))
        found.sort(key=lambda a: (a.time, a.leaf.id))
        return found

    def minute_of_day(self, source: str, category: CategoryInfo, day: datetime.date) -> float:
        rnd = self.rnd
        if category.urgent and rnd.random() < 0.25:
            return rnd.uniform(0, 24 * 60)
        if source in (Source.PATROL, Source.VISIT):
            return rnd.uniform(8 * 60, 18 * 60) if rnd.random() < 0.9 else rnd.uniform(18 * 60, 21 * 60)
        if source in (Source.HIGHER_LEVEL, Source.DEPARTMENT, Source.TALK_OFFICE, Source.VIDEO):
            return rnd.uniform(8.5 * 60, 17.5 * 60)
        return rnd.triangular(7 * 60, 22 * 60, 11 * 60)

    # --- places ------------------------------------------------------------------------------------------

    def street_point(self, leaf: UnitInfo, rnd: random.Random) -> tuple[float, float]:
        shape = self.shapes.get(leaf.id)
        if shape is None:
            shape = self.shapes[leaf.id] = geo.to_shape(self.world.geometries[leaf.id])
            shapely.prepare(shape)
        minx, miny, maxx, maxy = shape.bounds
        for _attempt in range(1000):
            lng, lat = round(rnd.uniform(minx, maxx), 6), round(rnd.uniform(miny, maxy), 6)
            if shapely.contains_xy(shape, lng, lat):
                return lng, lat
        point = shape.representative_point()
        return point.x, point.y

    def place(self, leaf: UnitInfo, rnd: random.Random):
        """(lng, lat, address, household or None): most cases happen at a home, some in the street."""
        world = self.world
        households = world.households.get(leaf.id)
        if households and rnd.random() < 0.65:
            household = rnd.choice(households)
            return household.lng, household.lat, household.address, household
        lng, lat = self.street_point(leaf, rnd)
        township, village = world.units[leaf.township_id], world.units[leaf.village_id]
        spots = STREET_PLACES_URBAN if leaf.area_type == "urban" else STREET_PLACES_RURAL
        name = "" if leaf.kind == UnitKind.DEDICATED else leaf.name
        return lng, lat, f"{township.name}{village.name}{name}{rnd.choice(spots)}", None

    # --- who acts ----------------------------------------------------------------------------------------

    def department_named(self, leaf: UnitInfo, name: str) -> DeptInfo | None:
        """services.default_department: the department of that name nearest above the place."""
        if not name:
            return None
        for unit in reversed(self.world.ancestors(leaf)):
            dept = self.world.department_at.get((unit.id, name))
            if dept is not None:
                return dept
        return None

    def township_office(self, leaf: UnitInfo, office: str) -> DeptInfo | None:
        township = self.world.units[leaf.township_id]
        return self.department_named(leaf, f"{township.name}{office}")

    def county_departments(self) -> list[DeptInfo]:
        if self._county_departments is None:
            county = self.world.county.id
            self._county_departments = [d for d in self.world.departments.values() if d.unit_id == county]
        return self._county_departments

    def dispatch_target(self, leaf: UnitInfo, category: CategoryInfo, rnd: random.Random):
        dept = self.department_named(leaf, category.default_department)
        if dept is not None and dept.name == "县公安局" and rnd.random() < 0.5:
            dept = self.township_office(leaf, "派出所") or dept
        if dept is None:
            if rnd.random() < 0.5:
                return ("unit", leaf.village_id)
            dept = self.township_office(leaf, "综治中心")
        if dept is None:
            return ("unit", leaf.village_id)
        return ("department", dept.id)

    # --- the plan ------------------------------------------------------------------------------------------

    def plan(self, arrival: Arrival, rnd: random.Random) -> Plan:
        leaf, category, source = arrival.leaf, arrival.category, arrival.source
        name = category.top_name + category.name

        def chance(p: float) -> bool:  # the rarer paths, made commoner by `rare` (tests want them all)
            return rnd.random() < min(1.0, p * self.rare)

        share, target = rnd.random(), "leaf"
        for probability, where in PATHS.get(category.default_level, PATHS["village"]):
            if share < probability:
                target = where
                break
            share -= probability
        depth = {"leaf": leaf.depth, "grid3": min(4, leaf.depth), "village": 3, "township": 2}.get(target, 2)
        plan = Plan(target_depth=1 if target == "county" else depth, township_handles=target == "township")
        plan.late = min(0.5, (0.03 if category.urgent else 0.05) * self.rare)
        if any(word in name for word in HARD_WORDS) and depth <= 2 and chance(0.06):
            plan.target_depth, plan.hold = 1, True
            plan.resume_after = rnd.uniform(50, 200) if rnd.random() < 0.4 else None
        # Even a case meant for the grid has a dispatch target: a sweep may carry it up to the township.
        plan.dispatch_to = self.dispatch_target(leaf, category, rnd)
        if plan.target_depth <= 2 and not plan.township_handles:
            if chance(0.05):
                others = [d for d in self.county_departments() if ("department", d.id) != plan.dispatch_to]
                plan.wrong_target = ("department", rnd.choice(others).id)
            if plan.dispatch_to[0] == "department" and chance(0.12):
                pool = [self.township_office(leaf, "综治中心"), self.township_office(leaf, "派出所")]
                pool += rnd.sample(self.county_departments(), 2)
                pool = [("department", d.id) for d in pool if d is not None]
                plan.co_handlers = rnd.sample(
                    [p for p in dict.fromkeys(pool) if p not in (plan.dispatch_to, plan.wrong_target)],
                    rnd.choice((1, 1, 2)),
                )
            plan.reworks = 2 if chance(0.01) else (1 if chance(0.05) else 0)
            if chance(0.04):
                plan.extension = (rnd.choice((3, 5, 5, 10)), rnd.random() < 0.8)
            plan.manual_urge = chance(0.04)
        if source in SOURCES_NEEDING_VERIFICATION and chance(0.12):
            reason = rnd.choices(
                [RejectReason.NOT_A_CASE, RejectReason.DUPLICATE, RejectReason.OUT_OF_SCOPE], [60, 25, 15]
            )[0]
            original = None
            if reason == RejectReason.DUPLICATE:
                recent = [s for s in self.by_leaf[leaf.id][-8:] if s.created_at > arrival.time - DAY * 20]
                if recent:
                    original = CaseRef(rnd.choice(recent).key)
                else:
                    reason = RejectReason.NOT_A_CASE
            plan.reject = (reason, original)
        if source == Source.RESIDENT:
            rated, plan.rater = 0.8, "resident" if rnd.random() < 0.6 else "grid"
        elif source == Source.HOTLINE:
            rated, plan.rater = 0.85, "reporter" if rnd.random() < 0.7 else "grid"
        elif source in (Source.WECHAT, Source.TALK_OFFICE):
            rated = 0.7
        else:
            rated = 0.3 if source in (Source.PATROL, Source.VISIT) else 0.2
        if rnd.random() < rated:
            plan.ratings = [Rating.UNSATISFIED if chance(0.04) else Rating.SATISFIED]
            if plan.ratings[0] == Rating.SATISFIED and rnd.random() < 0.19:
                plan.ratings = [Rating.BASICALLY_SATISFIED]
            if plan.ratings[0] == Rating.UNSATISFIED and rnd.random() < 0.75:
                plan.reopen = True
                if rnd.random() < 0.7:
                    plan.ratings.append(rnd.choice([Rating.SATISFIED, Rating.BASICALLY_SATISFIED]))
        plan.publish = not any(word in name for word in PRIVATE_WORDS) and chance(0.08)
        plan.checker_is_reporter = source in (Source.PATROL, Source.VISIT) and rnd.random() < 0.5
        return plan

    # --- the cases ------------------------------------------------------------------------------------------

    def reporter(self, arrival: Arrival, rnd: random.Random) -> tuple[int | None, str, bool]:
        """(reporter user id or None for a resident, the name residents gave, register at once)."""
        world, leaf, source = self.world, arrival.leaf, arrival.source
        resident = names.person_name(rnd)[0] + rnd.choice(RESIDENT_SUFFIXES)
        if source in (Source.PATROL, Source.VISIT):
            return world.desk(leaf.id), "", True
        if source == Source.WECHAT:
            return world.desk(leaf.id), resident, False
        if source == Source.RESIDENT:
            return None, resident, False
        if source == Source.HOTLINE:
            return world.user_ids[HOTLINE_OPERATOR], resident, False
        if source == Source.TALK_OFFICE:
            return world.desk(leaf.village_id), resident, False
        if source == Source.VIDEO:
            return world.desk(leaf.township_id), "", True
        if source == Source.HIGHER_LEVEL:
            return world.desk(world.county.id), "", True
        dept = self.department_named(leaf, arrival.category.default_department)
        dept = dept or rnd.choice(self.county_departments())
        return world.department_user(dept.id), "", False

    def new_sim(self, rnd: random.Random) -> CaseSim:
        sim = CaseSim(self.world, self.key, self.today, rnd)
        self.key += 1
        return sim

    def live(self, arrival: Arrival) -> CaseSim:
        rnd = random.Random(f"{self.seed}:{self.key}")
        sim = self.new_sim(rnd)
        plan = self.plan(arrival, rnd)
        reporter, reporter_name, register_now = self.reporter(arrival, rnd)
        lng, lat, address, household = self.place(arrival.leaf, rnd)
        who = reporter_name or (names.person_name(rnd)[0] + rnd.choice(RESIDENT_SUFFIXES))
        title, description = self.texts.story(arrival.category, rnd, address, who)
        # Staff name the households a case concerns, and only their own (residents name none).
        territorial = reporter is not None and self.world.post_of[reporter].role != Role.DEPARTMENT_USER
        involved = (
            household if territorial and any(w in arrival.category.top_name for w in INVOLVING) else None
        )
        sim.report(
            arrival.time,
            reporter=reporter,
            source=arrival.source,
            category=arrival.category,
            unit=arrival.leaf,
            title=title,
            description=description,
            lng=lng,
            lat=lat,
            address=address,
            reporter_name=reporter_name,
            household=involved,
            register_now=register_now,
        )
        Story(self.world, sim, plan, rnd, self.texts).run()
        self.by_leaf[arrival.leaf.id].append(sim)
        return sim

    def history(self) -> list[CaseSim]:
        return [self.live(arrival) for arrival in self.arrivals()]


# =====================================================================================================
# The demo logins' desks: a few recent cases scripted so that each login has something to act on today.


class Scenarios:
    """Recent cases at the demo logins' units, each ending in the state its login should find."""

    def __init__(self, planner: Planner):
        self.planner, self.world, self.today = planner, planner.world, planner.today
        self.rnd = random.Random(f"{planner.seed}:scenarios")
        world = self.world
        posts = {p.username: p for p in world.posts}
        self.grid = world.units[posts["demo-gridworker"].unit_id]
        self.grid3 = world.units[self.grid.parent_id]
        self.village = world.units[posts["demo-village"].unit_id]
        self.township = world.units[posts["demo-township"].unit_id]
        self.department = world.departments[posts["demo-department"].department_id]
        self.county = world.county
        self.sims: list[CaseSim] = []

    # --- helpers ----------------------------------------------------------------------------------------

    def ago(self, hours: float) -> datetime.datetime:
        return (self.today - datetime.timedelta(hours=hours)).replace(
            microsecond=self.rnd.randrange(1, 10**6)
        )

    def working_ago(self, days: float) -> datetime.datetime:
        return add_working_duration(self.today, -days).replace(microsecond=self.rnd.randrange(1, 10**6))

    def category(self, *, level: str | None = None, department: str | None = None, words=()) -> CategoryInfo:
        """A calm category (no urgent-hour limits) of that usual level or department."""
        pool = [c for c in self.world.categories if c.id in self.world.calm and c.severity != Severity.GRAVE]
        for test in (
            lambda c: (
                (level is None or c.default_level == level)
                and (department is None or c.default_department == department)
                and (not words or any(w in c.top_name + c.name for w in words))
            ),
            lambda c: department is None or c.default_department == department,
            lambda c: True,
        ):
            found = [c for c in pool if test(c)]
            if found:
                return self.rnd.choice(found)
        raise StoryError("no case categories")

    def leaves(self, under: UnitInfo, exclude=()) -> list[UnitInfo]:
        found = [
            leaf
            for leaf in self.world.leaves
            if leaf.path.startswith(under.path) and leaf.id not in exclude and leaf.kind != UnitKind.DEDICATED
        ]
        return found or [leaf for leaf in self.world.leaves if leaf.path.startswith(under.path)]

    def report(self, t, leaf: UnitInfo, category: CategoryInfo, source=Source.PATROL) -> CaseSim:
        planner, rnd = self.planner, self.rnd
        sim = planner.new_sim(random.Random(f"{planner.seed}:scenario:{planner.key}"))
        arrival = Arrival(t, leaf, category, source)
        reporter, reporter_name, register_now = planner.reporter(arrival, rnd)
        lng, lat, address, _household = planner.place(leaf, rnd)
        title, description = planner.texts.story(category, rnd, address, reporter_name or "王女士")
        sim.report(
            t,
            reporter=reporter,
            source=source,
            category=category,
            unit=leaf,
            title=title,
            description=description,
            lng=lng,
            lat=lat,
            address=address,
            reporter_name=reporter_name,
            register_now=register_now,
        )
        self.sims.append(sim)
        return sim

    def step(self, sim: CaseSim, t, method: str, *args, **kwargs) -> datetime.datetime:
        if sim.advance(t):
            raise StoryError(f"scenario case {sim.key} was escalated by a sweep")
        getattr(sim, method)(t, *args, **kwargs)
        return t

    def up_to(self, sim: CaseSim, unit: UnitInfo, t) -> datetime.datetime:
        """Escalate level by level until `unit` owns the case, a few minutes per level."""
        while sim.owner.id != unit.id:
            t += MINUTE * self.rnd.uniform(8, 40)
            self.step(sim, t, "escalate", self.world.desk(sim.owner.id), self.rnd.choice(ESCALATE_REASONS))
        return t

    def dispatched(self, leaf, hours_ago, to: DeptInfo, co=(), *, category=None) -> CaseSim:
        """A case escalated to its township and dispatched to `to` about `hours_ago` ago."""
        township = self.world.units[leaf.township_id]
        category = category or self.category(level="department", department=to.name)
        sim = self.report(self.ago(hours_ago + 2), leaf, category)
        t = self.up_to(sim, township, sim.updated_at)
        lead = ("department", to.id)
        self.step(
            sim,
            t + MINUTE * 30,
            "dispatch",
            self.world.desk(township.id),
            lead,
            list(co),
            DISPATCH_INSTRUCTIONS[0],
        )
        return sim

    def dept(self, name: str) -> DeptInfo:
        return next(
            (d for d in self.world.departments.values() if d.name == name and d.unit_id == self.county.id),
            self.department,
        )

    def office(self, township: UnitInfo, office: str) -> DeptInfo:
        return next(d for d in self.world.departments.values() if d.name == f"{township.name}{office}")

    # --- the desks --------------------------------------------------------------------------------------

    def build(self) -> list[CaseSim]:
        world, rnd = self.world, self.rnd
        gw, ta = world.desk(self.grid.id), world.desk(self.township.id)
        dept_user = world.department_user(self.department.id)
        grid_cat = lambda: self.category(level="grid")  # noqa: E731
        t_leaves = self.leaves(self.township, exclude={self.grid.id})
        other_townships = [u for u in world.units.values() if u.depth == 2 and u.id != self.township.id]

        # The grid worker: new finds to handle, one due soon, a report to verify, one to register, one to check.
        self.report(self.ago(3), self.grid, grid_cat())
        self.due_soon_case(self.grid, grid_cat())
        self.report(
            self.ago(1.2), self.grid, self.category(level="grid", words=("纠纷", "噪声")), Source.RESIDENT
        )
        sim = self.report(self.ago(5), self.grid, self.category(level="village"), Source.HOTLINE)
        self.step(sim, self.ago(2), "verify", gw, VERIFY_NOTES[0])
        sim = self.report(self.working_ago(3.2), self.grid, self.category(level="township"))
        t = self.up_to(sim, self.township, sim.updated_at)
        zongzhi = self.office(self.township, "综治中心")
        t = self.step(
            sim, t + MINUTE * 45, "dispatch", ta, ("department", zongzhi.id), [], DISPATCH_INSTRUCTIONS[1]
        )
        office_user = world.department_user(zongzhi.id)
        self.step(sim, t + MINUTE * 50, "accept", office_user, "")
        self.step(sim, self.ago(1.5), "submit", office_user, self.planner.texts.result(sim.category, rnd))

        # The grid leader and the village: escalations waiting for them.
        siblings = self.leaves(self.grid3, exclude={self.grid.id}) or [self.grid]
        sim = self.report(self.ago(2.5), siblings[0], self.category(level="village"))
        self.up_to(sim, self.grid3, sim.updated_at)
        village_leaves = self.leaves(self.village, exclude={self.grid.id}) or [self.grid]
        sim = self.report(self.ago(4), village_leaves[-1], self.category(level="village"))
        self.up_to(sim, self.village, sim.updated_at)
        sim = self.report(
            self.working_ago(2.5),
            village_leaves[0],
            self.category(level="village", words=("环境", "卫生", "饮水")),
        )
        t = self.up_to(sim, self.village, sim.updated_at)
        self.step(
            sim,
            t + DAY * 0.5,
            "handle_in_place",
            world.desk(self.village.id),
            self.planner.texts.result(sim.category, rnd),
        )

        # The township: cases to dispatch, one returned, an extension to decide, an unsatisfied rating.
        for hours, words in ((2, ("安全生产", "消防")), (5, ("食品", "特种设备")), (7, ("交通", "生态"))):
            leaf = rnd.choice(t_leaves)
            sim = self.report(self.ago(hours), leaf, self.category(level="department", words=words))
            self.up_to(sim, self.township, sim.updated_at)
        sim = self.dispatched(
            rnd.choice(t_leaves),
            6,
            self.dept("县水利局"),
            category=self.category(level="department", department="县市场监督管理局"),
        )
        self.step(
            sim,
            self.ago(1),
            "return_",
            world.department_user(self.dept("县水利局").id),
            RETURN_REASONS[0],
            True,
        )
        housing = self.dept("县住房和城乡建设局")
        sim = self.dispatched(rnd.choice(t_leaves), 40, housing)
        housing_user = world.department_user(housing.id)
        self.step(sim, sim.updated_at + MINUTE * 90, "accept", housing_user, "")
        self.step(sim, self.ago(2), "request_extension", housing_user, 5, EXTENSION_REASONS[0])
        sim = self.report(
            self.working_ago(2), rnd.choice(t_leaves), self.category(level="village"), Source.RESIDENT
        )
        self.step(sim, sim.updated_at + MINUTE * 60, "verify", world.desk(sim.unit.id), VERIFY_NOTES[0])
        self.step(sim, sim.updated_at + MINUTE * 10, "register", world.desk(sim.unit.id))
        village = world.units[sim.unit.village_id]
        t = self.up_to(sim, village, sim.updated_at)
        self.step(
            sim,
            t + DAY * 0.3,
            "handle_in_place",
            world.desk(village.id),
            self.planner.texts.result(sim.category, rnd),
        )
        self.step(sim, self.ago(5), "rate", None, Rating.UNSATISFIED, RATING_COMMENTS[Rating.UNSATISFIED][0])

        # The department: new dispatches to accept, one overdue, one where it is a co-handler.
        for hours in (3, 9, 20):
            township = rnd.choice(other_townships)
            self.dispatched(rnd.choice(self.leaves(township)), hours, self.department)
        self.overdue_case(rnd.choice(self.leaves(rnd.choice(other_townships))), dept_user)
        sim = self.dispatched(rnd.choice(t_leaves), 22, housing, co=[("department", self.department.id)])
        self.step(sim, sim.updated_at + MINUTE * 40, "accept", housing_user, "")

        # The county: an escalation to dispatch, and long-term cases with their follow-ups.
        sim = self.report(self.ago(6), rnd.choice(t_leaves), self.category(level="county"))
        self.up_to(sim, self.county, sim.updated_at)
        for months, gap in ((5, 30), (3, 45)):
            self.long_term_case(rnd.choice(world.leaves), months, gap)
        for sim in self.sims:
            sim.advance(self.today + MINUTE)  # the sweeps up to today, like any other case
        return self.sims

    def due_soon_case(self, leaf: UnitInfo, category: CategoryInfo) -> None:
        """A find whose handling deadline falls within the next working day."""
        threshold = services.due_soon_threshold(self.today)
        for tenths in range(5, 60):
            t = self.working_ago(tenths / 10)
            due = self.world.stage_deadline(category, Stage.HANDLING, leaf.level, t)
            if due is not None and self.today < due <= threshold:
                self.report(t, leaf, category)
                return

    def overdue_case(self, leaf: UnitInfo, handler: int) -> None:
        """Dispatched to the department, accepted, and past its deadline since less than a day: the
        sweep has given it a yellow card."""
        for tenths in range(50, 120, 2):
            t = self.working_ago(tenths / 10)
            category = self.category(level="department", department=self.department.name)
            due = self.world.stage_deadline(category, Stage.HANDLING, HandlerLevel.DEPARTMENT, t)
            if due is not None and self.today - DAY < due < self.today - TICK:
                break
        township = self.world.units[leaf.township_id]
        sim = self.report(t - MINUTE * 90, leaf, category)
        t = self.up_to(sim, township, sim.updated_at)
        self.step(
            sim,
            t + MINUTE * 20,
            "dispatch",
            self.world.desk(township.id),
            ("department", self.department.id),
            [],
            DISPATCH_INSTRUCTIONS[1],
        )
        self.step(sim, sim.updated_at + MINUTE * 30, "accept", handler, "")

    def long_term_case(self, leaf: UnitInfo, months: int, gap: int) -> None:
        """A historic dispute at the county, in long-term management with a follow-up every `gap` days."""
        category = self.category(words=HARD_WORDS)
        start = self.working_ago(months * 21)
        sim = self.report(start, leaf, category)
        t = self.up_to(sim, self.county, sim.updated_at)
        county = self.world.desk(self.county.id)
        t = self.step(sim, t + MINUTE * 120, "hold", county, HOLD_REASONS[0])
        while t + DAY * gap < self.today:
            t += DAY * gap
            by = county if self.rnd.random() < 0.5 else self.world.desk(leaf.id)
            self.step(sim, t, "follow_up", by, self.rnd.choice(FOLLOW_UP_NOTES))


# =====================================================================================================
# Numbers: services.next_case_number hands out serials per county prefix and day in registration order.


def assign_numbers(sims: Sequence[CaseSim]) -> dict[tuple[str, datetime.date], int]:
    """Give every registered case its number, after the serials already handed out; returns the last
    serial per (prefix, day), as CaseSerial must hold it afterwards."""
    last = {(prefix, day): n for prefix, day, n in CaseSerial.objects.values_list("prefix", "day", "last")}
    for sim in sorted((s for s in sims if s.registered_at), key=lambda s: (s.registered_at, s.key)):
        prefix = sim.unit.code[:6]
        day = timezone.localtime(sim.registered_at, local_zone()).date()
        serial = last.get((prefix, day), 0) + 1
        last[prefix, day] = serial
        sim.number = f"{prefix}{day:%Y%m%d}{serial:05d}"
    return last


def batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence], batch_size: int = 5000) -> int:
    """INSERT rows given as tuples in the order of `columns` (attnames, the primary key included).

    Faster than bulk_create at this size, and it keeps the timestamps given: bulk_create would stamp
    auto_now_add fields with the wall clock. Values go through each field's own database preparation.
    """
    meta = model._meta
    fields = [next(f for f in meta.concrete_fields if f.attname == name) for name in columns]
    ops = connection.ops
    prepare: list[Callable | None] = []
    for f in fields:
        internal = f.get_internal_type()
        if internal == "DateTimeField":
            prepare.append(
                sqlite_datetime if connection.vendor == "sqlite" else ops.adapt_datetimefield_value
            )
        elif internal in ("JSONField", "UUIDField"):
            prepare.append(lambda value, f=f: f.get_db_prep_save(value, connection))
        else:
            prepare.append(None)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        ops.quote_name(meta.db_table),
        ", ".join(ops.quote_name(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    count = 0
    with connection.cursor() as cursor:
        for batch in batched(rows, batch_size):
            values = [
                [
                    value if p is None or value is None else p(value)
                    for p, value in zip(prepare, row, strict=True)
                ]
                for row in batch
            ]
            cursor.executemany(sql, values)
            count += len(values)
    return count


def sqlite_datetime(value: datetime.datetime) -> str:
    """What the SQLite backend stores for an aware datetime (naive UTC text), without its per-call overhead."""
    return str(value.astimezone(datetime.timezone.utc).replace(tzinfo=None))


def large_cache() -> None:
    """A bigger SQLite page cache for this connection while it writes many rows: the default 2 MB
    makes every index insert a page read once the indexes outgrow it."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")  # KiB: 256 MB


def reset_sequences(*models) -> None:
    """PostgreSQL's id sequences after inserts with explicit ids (SQLite follows the largest id itself)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def next_id(model) -> int:
    return (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1


# =====================================================================================================
# Engines: the same stories, through the services or in bulk.


class ServiceEngine:
    """Every step through wangge.cases.services with now= its time, in the order the steps happened."""

    name = "services"

    def run(self, world: World, sims: Sequence[CaseSim]) -> None:
        events = sorted((e for sim in sims for e in sim.events), key=lambda e: (e.time, e.key, e.seq))
        # Units were loaded in bulk, which tells no process-level cache of boundaries: drop any, so that
        # report_case locates points in this county.
        clear_locator()
        self.users = {u.pk: u for u in User.objects.filter(pk__in={p.user_id for p in world.posts})}
        self.categories = {c.pk: c for c in Category.objects.select_related("parent")}
        self.departments = {d.pk: d for d in Department.objects.select_related("unit")}
        self.units: dict[int, Unit] = {}
        self.pks: dict[int, int] = {}
        self.codes: list[str] = []
        self.last_notification = Notification.objects.aggregate(top=Max("id"))["top"] or 0
        original = services.new_tracking_code
        # The services draw tracking codes from `secrets`; the demo must be the same for the same seed.
        services.new_tracking_code = lambda: self.codes.pop()
        try:
            last_sweep = None
            for event in events:
                if event.action == "sweep":
                    if event.time != last_sweep:
                        sweeps.sweep_overdue(now=event.time)
                        last_sweep = event.time
                else:
                    self.call(event)
                self.date_notifications(event.time)
        finally:
            services.new_tracking_code = original

    def date_notifications(self, when) -> None:
        """Notifications are stamped with the wall clock; date those the last step sent by the step."""
        table = connection.ops.quote_name(Notification._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET created_at = %s WHERE id > %s",
                [connection.ops.adapt_datetimefield_value(when), self.last_notification],
            )
            if cursor.rowcount:
                cursor.execute(f"SELECT MAX(id) FROM {table}")
                self.last_notification = cursor.fetchone()[0]

    def unit(self, pk: int) -> Unit:
        if pk not in self.units:
            self.units[pk] = Unit.objects.select_related("level").get(pk=pk)
        return self.units[pk]

    def target(self, target: tuple[str, int]):
        kind, pk = target
        return self.departments[pk] if kind == "department" else self.unit(pk)

    def call(self, event: Event) -> None:
        kw, now = event.kwargs, event.time
        by = self.users.get(event.actor_id) if event.actor_id is not None else None
        case = self.pks.get(event.key)
        action = event.action
        if action == "report":
            self.codes.append(kw["tracking_code"])
            created, _new = services.report_case(
                reporter=by,
                source=kw["source"],
                description=kw["description"],
                title=kw["title"],
                category=self.categories[kw["category"]],
                lng=kw["lng"],
                lat=kw["lat"],
                address=kw["address"],
                client_uuid=kw["client_uuid"],
                households=list(Household.objects.filter(pk__in=kw["households"])),
                reporter_name=kw["reporter_name"],
                register_now=kw["register_now"],
                petition_channel=kw["petition_channel"],
                now=now,
            )
            self.pks[event.key] = created.pk
        elif action == "verify":
            services.verify(case, by=by, note=kw["note"], now=now)
        elif action == "register":
            services.register(case, by=by, note=kw["note"], petition_channel=kw["petition_channel"], now=now)
        elif action == "reject":
            ref = kw["duplicate_of"]
            original = Case.objects.get(pk=self.pks[ref.key]) if ref else None
            services.reject(case, by=by, reason=kw["reason"], note=kw["note"], duplicate_of=original, now=now)
        elif action == "handle_in_place":
            services.handle_in_place(
                case, by=by, result=kw["result"], mediation_outcome=kw["mediation_outcome"], now=now
            )
        elif action == "escalate":
            services.escalate(case, by=by, reason=kw["reason"], now=now)
        elif action == "dispatch":
            services.dispatch(
                case,
                by=by,
                lead=self.target(kw["lead"]),
                co_handlers=[self.target(t) for t in kw["co_handlers"]],
                instructions=kw["instructions"],
                now=now,
            )
        elif action == "accept":
            services.accept(case, by=by, note=kw["note"], now=now)
        elif action == "return_":
            services.return_case(
                case, by=by, reason=kw["reason"], wrongly_dispatched=kw["wrongly_dispatched"], now=now
            )
        elif action == "report_back":
            services.report_back(case, by=by, note=kw["note"], now=now)
        elif action == "submit":
            services.submit(
                case, by=by, result=kw["result"], mediation_outcome=kw["mediation_outcome"], now=now
            )
        elif action == "check":
            services.check(case, by=by, passed=kw["passed"], note=kw["note"], now=now)
        elif action == "rate":
            services.rate(case, by=by, rating=kw["rating"], comment=kw["comment"], now=now)
        elif action == "reopen":
            services.reopen(case, by=by, note=kw["note"], now=now)
        elif action == "publish":
            services.publish(case, by=by, summary=kw["summary"], now=now)
        elif action == "hold":
            services.hold(case, by=by, reason=kw["reason"], now=now)
        elif action == "follow_up":
            services.follow_up(case, by=by, note=kw["note"], now=now)
        elif action == "resume":
            services.resume(case, by=by, note=kw["note"], now=now)
        elif action == "urge":
            services.urge(case, by=by, level=kw["level"], note=kw["note"], now=now)
        elif action == "request_extension":
            services.request_extension(
                case, by=by, working_days=kw["working_days"], reason=kw["reason"], now=now
            )
        elif action == "decide_extension":
            services.decide_extension(case, by=by, approve=kw["approve"], note=kw["note"], now=now)
        else:
            raise StoryError(f"unknown step {action}")


CASE_COLUMNS = (
    "id", "created_at", "updated_at", "uuid", "number", "tracking_code", "title", "description",
    "category_id", "severity", "source", "state", "unit_id", "owner_unit_id", "lng", "lat", "address",
    "reporter_id", "reporter_name", "registered_at", "closed_at", "reject_reason", "duplicate_of_id",
    "stage", "stage_due_at", "due_at", "kpi_due_at", "overdue_at", "due_soon_notified_at", "paused_at",
    "held_from_state", "lead_assignment_id", "dispatched_from_id", "resolved_level", "resolved_in_place",
    "mediation_outcome", "petition_channel", "result", "escalation_count", "dispatch_count", "return_count", "wrong_dispatch_count", "rework_count",
    "reopen_count", "extension_count", "urge_level", "rating", "rating_comment", "rated_at", "published_at",
    "public_summary", "version",
)  # fmt: skip
ACTION_COLUMNS = (
    "id", "case_id", "kind", "time", "actor_id", "actor_label", "actor_role", "actor_unit_id",
    "actor_department_id", "from_state", "to_state", "note", "data", "request_id",
)  # fmt: skip
ASSIGNMENT_COLUMNS = (
    "id", "case_id", "unit_id", "department_id", "is_lead", "status", "dispatched_from_id",
    "dispatched_by_id", "dispatched_at", "due_at", "instructions", "accepted_at", "finished_at", "report",
)  # fmt: skip
EXTENSION_COLUMNS = (
    "id", "case_id", "requested_by_id", "requested_at", "working_days", "reason", "status", "decided_by_id",
    "decided_at", "decision_note",
)  # fmt: skip
NOTIFICATION_COLUMNS = (
    "id", "recipient_id", "kind", "title", "body", "url", "case_id", "created_at", "read_at",
)  # fmt: skip


class BulkEngine:
    """The rows the services would have written, inserted in bulk with explicit ids."""

    name = "bulk"

    def run(self, world: World, sims: Sequence[CaseSim], today: datetime.datetime) -> None:
        large_cache()
        serials = assign_numbers(sims)
        ordered = sorted(sims, key=lambda s: (s.created_at, s.key))
        case_ids = {sim.key: pk for pk, sim in enumerate(ordered, start=next_id(Case))}
        assignment_ids: dict[int, int] = {}
        next_assignment = next_id(Assignment)
        for sim in ordered:
            for assignment in sim.assignments:
                assignment_ids[id(assignment)] = next_assignment
                next_assignment += 1
        insert_rows(Case, CASE_COLUMNS, (self.case_row(s, case_ids, assignment_ids) for s in ordered))
        insert_rows(
            Assignment,
            ASSIGNMENT_COLUMNS,
            (
                (
                    assignment_ids[id(a)],
                    case_ids[s.key],
                    a.unit_id,
                    a.department_id,
                    a.is_lead,
                    a.status,
                    a.dispatched_from_id,
                    a.dispatched_by_id,
                    a.dispatched_at,
                    a.due_at,
                    a.instructions,
                    a.accepted_at,
                    a.finished_at,
                    a.report,
                )
                for s in ordered
                for a in s.assignments
            ),
        )
        insert_rows(CaseAction, ACTION_COLUMNS, self.action_rows(ordered, case_ids))
        through = Case.households.through
        insert_rows(
            through,
            ("id", "case_id", "household_id"),
            (
                (i, case_ids[s.key], h)
                for i, (s, h) in enumerate(
                    ((s, h) for s in ordered for h in s.household_ids), start=next_id(through)
                )
            ),
        )
        insert_rows(
            ExtensionRequest,
            EXTENSION_COLUMNS,
            (
                (
                    i,
                    case_ids[s.key],
                    e.requested_by_id,
                    e.requested_at,
                    e.working_days,
                    e.reason,
                    e.status,
                    e.decided_by_id,
                    e.decided_at,
                    e.decision_note,
                )
                for i, (s, e) in enumerate(
                    ((s, e) for s in ordered for e in s.extensions), start=next_id(ExtensionRequest)
                )
            ),
        )
        since = today - DAY * NOTIFICATION_DAYS
        insert_rows(
            Notification,
            NOTIFICATION_COLUMNS,
            (
                (i, *row)
                for i, row in enumerate(
                    self.notification_rows(ordered, case_ids, since), start=next_id(Notification)
                )
            ),
        )
        existing = {(c.prefix, c.day): c for c in CaseSerial.objects.all()}
        for key, row in existing.items():
            if row.last != serials[key]:
                CaseSerial.objects.filter(pk=row.pk).update(last=serials[key])
        CaseSerial.objects.bulk_create(
            CaseSerial(prefix=prefix, day=day, last=last)
            for (prefix, day), last in sorted(serials.items())
            if (prefix, day) not in existing
        )
        reset_sequences(Case, Assignment, CaseAction, through, ExtensionRequest, Notification)

    @staticmethod
    def case_row(s: CaseSim, case_ids, assignment_ids) -> tuple:
        return (
            case_ids[s.key],
            s.created_at,
            s.updated_at,
            s.uuid,
            s.number or None,
            s.tracking_code,
            s.title[:100],
            s.description,
            s.category.id,
            s.severity,
            s.source,
            s.state,
            s.unit.id,
            s.owner.id,
            s.lng,
            s.lat,
            s.address,
            s.reporter_id,
            s.reporter_name[:50],
            s.registered_at,
            s.closed_at,
            s.reject_reason,
            case_ids[s.duplicate_of.key] if s.duplicate_of else None,
            s.stage,
            s.stage_due_at,
            s.due_at,
            s.kpi_due_at,
            s.overdue_at,
            s.due_soon_notified_at,
            s.paused_at,
            s.held_from_state,
            assignment_ids[id(s.lead)] if s.lead else None,
            s.dispatched_from.id if s.dispatched_from else None,
            s.resolved_level,
            s.resolved_in_place,
            s.mediation_outcome,
            s.petition_channel,
            s.result,
            s.escalation_count,
            s.dispatch_count,
            s.return_count,
            s.wrong_dispatch_count,
            s.rework_count,
            s.reopen_count,
            s.extension_count,
            s.urge_level,
            s.rating,
            s.rating_comment,
            s.rated_at,
            s.published_at,
            s.public_summary,
            s.version,
        )

    @staticmethod
    def action_rows(ordered, case_ids) -> Iterator[tuple]:
        pk = next_id(CaseAction)
        for s in ordered:
            case_id = case_ids[s.key]
            for a in s.actions:
                data = a.data
                if a.kind == ActionKind.REGISTER:
                    data = {**data, "number": s.number}
                elif a.kind == ActionKind.REJECT and data.get("duplicate_of") is not None:
                    data = {**data, "duplicate_of": case_ids[data["duplicate_of"].key]}
                yield (
                    pk,
                    case_id,
                    a.kind,
                    a.time,
                    a.actor_id,
                    a.actor_label,
                    a.actor_role,
                    a.actor_unit_id,
                    a.actor_department_id,
                    a.from_state,
                    a.to_state,
                    a.note,
                    data,
                    "",
                )
                pk += 1

    @staticmethod
    def notification_rows(ordered, case_ids, since) -> Iterator[tuple]:
        url = reverse("cases:detail", args=[987654321]).replace("987654321", "{}")
        labels = {kind: str(NotificationKind(kind).label) for kind in NotificationKind.values}
        for s in ordered:
            for n in s.notices:
                if n.time < since:
                    continue
                shown = s.number if n.numbered else f"{s.tracking_code[:4]}-{s.tracking_code[4:]}"
                title = f"{labels[n.kind]}: {shown} {n.status_label or s.title}"
                yield (
                    n.recipient_id,
                    n.kind,
                    title[:200],
                    n.body,
                    url.format(case_ids[s.key]),
                    case_ids[s.key],
                    n.time,
                    None,
                )


# =====================================================================================================
# After either engine: what the worker would have done by today, and the timestamps of a real history.


def finish(today: datetime.datetime, seed: int, *, services_wrote: bool) -> None:
    """The sweeps at `today`, then created/updated times from the case history, then read marks."""
    sweeps.sweep_overdue(now=today)
    sweeps.sweep_due_soon(now=today)
    Notification.objects.filter(created_at__gt=today).update(created_at=today)
    # The services stamp created_at/updated_at with the wall clock: put the history's times instead.
    touched = Case.objects.all() if services_wrote else Case.objects.filter(updated_at__gt=today)
    table, actions = (
        connection.ops.quote_name(Case._meta.db_table),
        connection.ops.quote_name(CaseAction._meta.db_table),
    )
    ids = list(touched.values_list("id", flat=True))
    with connection.cursor() as cursor:
        for batch in batched(ids, 5000):
            cursor.execute(
                f"UPDATE {table} SET created_at = (SELECT MIN(a.time) FROM {actions} a WHERE a.case_id = {table}.id),"
                f" updated_at = (SELECT MAX(a.time) FROM {actions} a WHERE a.case_id = {table}.id)"
                f" WHERE id IN ({', '.join(['%s'] * len(batch))})",
                batch,
            )
    mark_read(today, seed)


def mark_read(today: datetime.datetime, seed: int) -> None:
    """Notifications older than READ_AFTER_DAYS were read, a few minutes to a working day after they came."""
    cutoff = today - DAY * READ_AFTER_DAYS
    rows = Notification.objects.filter(created_at__lt=cutoff, read_at__isnull=True).values_list(
        "id", "recipient_id", "kind", "created_at"
    )
    updates = []
    for pk, recipient, kind, created in rows:
        delay = zlib.crc32(f"{seed}:{recipient}:{kind}:{created.isoformat()}".encode()) % (8 * 60) + 3
        updates.append((connection.ops.adapt_datetimefield_value(min(created + MINUTE * delay, today)), pk))
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        for batch in batched(updates, 5000):
            cursor.executemany(f"UPDATE {table} SET read_at = %s WHERE id = %s", batch)


# =====================================================================================================
# Departments the cases go to, and the people who answer for them.


def ensure_departments(seed: int) -> list[str]:
    """Create the departments the categories name as their usual handlers (and a few more every county
    has), a 综治中心 and a 派出所 in every township, each with a department user, and the 12345 hotline
    operator. Returns the names created."""
    from .generator import DEMO_DATE

    county = Unit.objects.get(depth=1)
    rnd = random.Random(f"{seed}:departments")
    wanted = [name for _code, name in EXTRA_COUNTY_DEPARTMENTS]
    wanted += sorted(
        set(Category.objects.exclude(default_department="").values_list("default_department", flat=True))
    )
    existing = set(Department.objects.filter(unit=county).values_list("name", flat=True))
    codes = set(Department.objects.values_list("code", flat=True))
    created: list[Department] = []
    for name in dict.fromkeys(wanted):
        if name in existing:
            continue
        code = DEPARTMENT_SLUGS.get(name) or f"dept{len(codes) + 1}"
        while code in codes:
            code += "x"
        codes.add(code)
        created.append(Department(name=name, code=code, unit=county))
    titles = {}
    for township in Unit.objects.filter(depth=2).order_by("path"):
        for slug, office, title in TOWNSHIP_OFFICES:
            name = f"{township.name}{office}"
            if not Department.objects.filter(unit=township, name=name).exists():
                created.append(Department(name=name, code=f"{township.code}-{slug}", unit=township))
                titles[name] = title
    Department.objects.bulk_create(created)
    password = make_password(PASSWORD)
    people = [
        (f"dept-{d.code}", d.unit, Role.DEPARTMENT_USER, titles.get(d.name, "网格事件联络员"), d.name)
        for d in created
    ]
    if not User.objects.filter(username=HOTLINE_OPERATOR).exists():
        people.append((HOTLINE_OPERATOR, county, Role.COUNTY_COMMAND, "12345热线转办员", ""))
    users = User.objects.bulk_create(
        User(username=username, full_name=names.person_name(rnd), password=password)
        for username, *_rest in people
    )
    departments = {d.name: d for d in Department.objects.filter(name__in=[p[4] for p in people if p[4]])}
    Post.objects.bulk_create(
        Post(
            user_id=user.pk,
            unit=unit,
            role=role,
            title=title,
            department=departments.get(dept_name),
            start_date=DEMO_DATE,
        )
        for user, (_username, unit, role, title, dept_name) in zip(users, people, strict=True)
    )
    return [d.name for d in created]


# =====================================================================================================
# The entry point for `wangge demo`.


@dataclass
class HistorySummary:
    cases: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    actions: int = 0
    notifications: int = 0
    unread: int = 0
    departments: list[str] = field(default_factory=list)
    engine: str = ""
    plan_seconds: float = 0.0
    write_seconds: float = 0.0

    def lines(self) -> list[str]:
        if not self.cases:
            return ["No case history: there are no case categories (run `wangge migrate`)."]
        states = ", ".join(f"{n} {state}" for state, n in self.by_state.items())
        return [
            f"Case history: {self.cases} cases over the last {HISTORY_DAYS} days ({states}); "
            f"{self.actions} steps, {self.notifications} notifications ({self.unread} unread); "
            f"{len(self.departments)} departments added.",
            f"Planned in {self.plan_seconds:.1f} s, written through the {self.engine} in {self.write_seconds:.1f} s.",
        ]


def plan(seed: int, today: datetime.datetime, annual: int, rare: float = 1.0) -> tuple[World, list[CaseSim]]:
    """The stories (pure, given the database's county, staff and categories), numbered."""
    world = World()
    planner = Planner(world, seed, today, annual, rare)
    sims = planner.history()
    sims += Scenarios(planner).build()
    assign_numbers(sims)
    return world, sims


def write(world: World, sims: Sequence[CaseSim], today: datetime.datetime, seed: int, engine) -> None:
    if isinstance(engine, ServiceEngine):
        engine.run(world, sims)
    else:
        engine.run(world, sims, today)
    finish(today, seed, services_wrote=isinstance(engine, ServiceEngine))


def build_case_history(
    scale: str,
    seed: int,
    *,
    today: datetime.datetime | None = None,
    engine=None,
    annual: int | None = None,
) -> HistorySummary:
    """A year of cases up to `today` (default: now) for the county just loaded. Run it in the demo's
    transaction; the small scale goes through the services, the county scale in bulk."""
    from .generator import analyze

    summary = HistorySummary()
    if not Category.objects.filter(parent__isnull=False, is_active=True).exists():
        return summary
    today = today or timezone.now()
    engine = engine or (ServiceEngine() if scale == "small" else BulkEngine())
    with translation.override(settings.LANGUAGE_CODE):
        started = time.perf_counter()
        summary.departments = ensure_departments(seed)
        world, sims = plan(seed, today, annual or ANNUAL_CASES[scale])
        planned = time.perf_counter()
        write(world, sims, today, seed, engine)
        analyze(Case, CaseAction, Assignment, Notification)
        written = time.perf_counter()
    counts = Counter(Case.objects.values_list("state", flat=True))
    summary.cases = sum(counts.values())
    summary.by_state = {state: counts[state] for state in CaseState.values if counts[state]}
    summary.actions = CaseAction.objects.count()
    summary.notifications = Notification.objects.count()
    summary.unread = Notification.objects.unread().count()
    summary.engine = engine.name
    summary.plan_seconds, summary.write_seconds = planned - started, written - planned
    return summary
