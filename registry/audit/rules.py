"""How the audit trail is read by people: the Chinese names of its actions, entities and the
fields of its changes (served to the pages as /static/vocab.js), and what a free-text search
(``/api/audit?q=``) may mean. Pure: no framework, no database.

An entry names its object by an internal id (a case by its UUID, a site by its row id), which
no clerk knows; a search term is therefore read as what a clerk does know — a case number, a
division code, a site's name — and the service turns it into the entity ids it stands for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.core.errors import InvalidInput

# Actions (``status`` is a site's or a case's state change, filed apart from plain edits).
ACTION_LABELS_ZH = {
    "create": "新建",
    "update": "修改",
    "status": "状态变更",
    "submit": "提交",
    "approve": "批准",
    "return": "退回",
    "amend": "修订",
    "supersede": "被替代",
    "import": "导入",
    "sign_in_failed": "登录失败",
}

ENTITY_LABELS_ZH = {
    "site": "站点",
    "case": "代办事项",
    "plan": "规划",
    "account": "账号",
    "matter": "事项目录",
    "division": "行政区划",
    "division_register": "区划登记册",
    "calendar": "节假日安排",
}

# Fields of the changes, by the name the writers use (sites, cases, accounts, plans, matters).
FIELD_LABELS_ZH = {
    # the holiday arrangement of a year
    "holidays": "节假日",
    "workdays": "调休上班日",
    "cases_recomputed": "重算期限的事项",
    "flags_recomputed": "重算时效的事项",
    # sites
    "division_code": "区划代码",
    "kind": "类型",
    "standard_name": "标准名称",
    "signage_name": "标识名称",
    "lon": "经度",
    "lat": "纬度",
    "crs": "坐标系",
    "coord_method": "定位方式",
    "collected_on": "采集日期",
    "address": "地址",
    "hall_area_m2": "大厅面积（平方米）",
    "staff_count": "工作人员数",
    "contact_phone": "联系电话",
    "status": "状态",
    "previous_status": "原状态",
    "effective_date": "生效日期",
    "skipped": "跳过的阶段",
    # cases
    "case_number": "办件编号",
    "site_id": "代办点",
    "matter_code": "事项",
    "resident_name_masked": "群众姓名",
    "resident_id_masked": "身份证号",
    "resident_phone_masked": "群众电话",
    "state": "状态",
    "received_at": "受理时间",
    "forwarded_at": "转办时间",
    "completed_at": "办结时间",
    "returned_at": "退回时间",
    "delivered_at": "回复时间",
    "returned_reason": "退回原因",
    "rating": "满意度",
    "note": "备注",
    "due_on": "办理期限",
    "forward_late": "逾期转办",
    # accounts
    "username": "用户名",
    "role": "角色",
    "scope": "范围",
    "display_name": "姓名",
    "phone": "电话",
    "active": "账号状态",
    "password": "密码",
    "failed_attempts": "连续失败次数",
    # plans
    "campaign": "专项行动",
    "title": "标题",
    "version": "版本",
    "items": "规划明细",
    "target": "建设目标",
    "target_date": "目标日期",
    "budget_yuan": "预算（元）",
    "funding_source": "资金来源",
    # matters
    "code": "编码",
    "name": "名称",
    "category": "类别",
    "department": "部门",
    "time_limit_days": "承诺时限（天）",
    # divisions
    "parent_code": "上级区划",
    "level": "层级",
    "established_on": "设立日期",
    "abolished_on": "撤销日期",
    "counties_added": "新增县市区",
    "townships_added": "新增乡镇(街道)",
    "new": "新增村(社区)",
    "renamed": "更名",
    "moved": "调整隶属",
    "merged": "合并",
    "abolished": "撤销",
}

MAX_QUERY = 64
_CASE_NUMBER = re.compile(r"^\d{12}-\d{8}-\d{4}$")
_CODE = re.compile(r"^\d{6}$|^\d{9}$|^\d{12}$")


@dataclass(frozen=True)
class Search:
    """What a search term stands for: a case number, a division code and/or a name part."""

    case_number: str | None
    division_code: str | None
    name: str | None


def read_query(raw: str | None) -> Search | None:
    """Read ``q``: a case number (``{division}-{YYYYMMDD}-{serial}``), a division code (6, 9 or
    12 digits), else a part of a site's name. None for an empty term.

    Raises:
        InvalidInput: ``query_too_long`` beyond :data:`MAX_QUERY` characters.
    """
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > MAX_QUERY:
        raise InvalidInput(
            "query_too_long",
            f"搜索内容最多 {MAX_QUERY} 个字",
            f"the search term is at most {MAX_QUERY} characters",
            field="q",
        )
    if _CASE_NUMBER.match(text):
        return Search(case_number=text, division_code=None, name=None)
    if _CODE.match(text):
        return Search(case_number=None, division_code=text.ljust(12, "0"), name=None)
    return Search(case_number=None, division_code=None, name=text)


def check_range(since: object, until: object) -> None:
    """Refuse a period whose end comes before its start (422 ``invalid_date_range``)."""
    if since is not None and until is not None and until < since:  # type: ignore[operator]
        raise InvalidInput(
            "invalid_date_range",
            "截止日期早于起始日期，请交换两个日期",
            "`until` is before `since`",
            field="until",
        )
