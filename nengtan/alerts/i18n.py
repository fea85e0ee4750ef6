"""Which language a recipient reads, and the fixed words of a digest in zh and en.

Chinese is the default. A recipient reads English when its address or its domain is
listed in ``NENGTAN_ALERT_LANG_EN`` (comma-separated, e.g.
``ops@example.com,foreign.example.com``) or under ``english:`` in the recipients file
(``NENGTAN_ALERT_RECIPIENTS_FILE``, default ``expectations/recipients.yml``; optional).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from nengtan.config import REPO_ROOT

LANGS = ("zh", "en")

TEXT = {
    "zh": {
        "subject": "[能碳] {day} 数据质量提醒：{n} 项待处理",
        "greeting": "您好，\n\n以下是 {day}（数据日）夜间检查中与您相关的 {n} 项数据质量问题，请按“处理”一栏跟进：",
        "blocking": "阻断发布的问题（已保留上一版对外数据）",
        "routed": "需要您处理的问题",
        "rule": "规则",
        "truncated": "（仅列出前 {shown} 项，共 {n} 项；完整清单见附件 CSV）",
        "footer": "此邮件由能碳数据仓库自动发送；每位联系人每晚最多一封。运行编号：{run_id}",
        "col_rule": "规则", "col_entity": "对象", "col_period": "日期/月份", "col_observed": "观测值",
        "col_expected": "要求", "col_message": "说明与处理",
        "fail_subject": "[能碳] 流水线任务失败：{dag_id}.{task_id}",
        "fail_body": "流水线任务失败。\n\nDAG：{dag_id}\n任务：{task_id}\n运行：{run_id}\n尝试次数：{try_number}\n"
                     "原因：{exception}\n日志：{log_url}\n\n请检查日志并在修复后重跑该任务。",
        "fail_external": "任务本身未报告异常：它由 Airflow 从外部判为失败（未能启动、失去心跳、被终止或上游失败）；"
                         "请查看该任务的日志和调度器日志",
        "webhook_title": "[能碳] {day} 夜间数据质量：{n_recipients} 位联系人共 {n} 项",
        "webhook_blocking": "阻断发布：{n} 项",
        "webhook_provisional": "其中 {n} 项涉及临时数据（申报未齐且未过截止日的月份）",
        "subject_warn": "[能碳] {day} 双控预警 {w} 项，数据质量提醒 {n} 项",
        "provisional": "临时数据",
        "provisional_note": "标注“临时数据”的月份申报尚未齐全且申报截止日未到，相关数字会随补报变化，请勿作为定论。",
        "warnings": "能耗与碳排放双控预警",
        "warning_line": "{who} {metric}：{label}，截至 {as_of} 预计全年 {projected} / 目标 {budget}（{ratio}）",
        "metric.energy": "能源消费总量", "metric.carbon": "二氧化碳排放总量",
        "metric.energy_intensity": "能耗强度", "metric.carbon_intensity": "碳排放强度",
        "who.enterprise": "企业 {id}", "who.park": "园区 {id}", "who.city": "全市 {id}",
    },
    "en": {
        "subject": "[Nengtan] Data quality for {day}: {n} findings to act on",
        "greeting": "Hello,\n\nLast night's checks of data day {day} found {n} data-quality issues for you. "
                    "Please follow the 'To do' of each:",
        "blocking": "Issues blocking the publish (the last good serving copy is kept)",
        "routed": "Issues for you to act on",
        "rule": "rule",
        "truncated": "(showing the first {shown} of {n}; the full list is in the attached CSV)",
        "footer": "Sent automatically by the Nengtan warehouse; at most one message per contact per night. Run: {run_id}",
        "col_rule": "Rule", "col_entity": "Entity", "col_period": "Day/month", "col_observed": "Observed",
        "col_expected": "Expected", "col_message": "Finding and what to do",
        "fail_subject": "[Nengtan] Pipeline task failed: {dag_id}.{task_id}",
        "fail_body": "A pipeline task failed.\n\nDAG: {dag_id}\nTask: {task_id}\nRun: {run_id}\nTry: {try_number}\n"
                     "Exception: {exception}\nLog: {log_url}\n\nCheck the log, fix, and clear the task to rerun it.",
        "fail_external": "the task reported no exception itself: Airflow failed it from outside (it did not start, "
                         "lost its heartbeat, was killed, or its upstream failed); see the task's log and the scheduler's log",
        "webhook_title": "[Nengtan] Night checks for {day}: {n} findings for {n_recipients} contacts",
        "webhook_blocking": "Blocking the publish: {n}",
        "webhook_provisional": "{n} of them concern provisional data (months whose declarations are not all in "
                               "and not yet due)",
        "subject_warn": "[Nengtan] {day}: {w} dual-control warnings, {n} data-quality findings",
        "provisional": "provisional",
        "provisional_note": "Months marked provisional are not final: declarations are outstanding and not yet "
                            "due, so their figures will change as they arrive. Do not act on them as final.",
        "warnings": "Energy and carbon dual-control warnings",
        "warning_line": "{who} {metric}: {label} — projected {projected} for the year against {budget} ({ratio}), "
                        "as of {as_of}",
        "metric.energy": "energy use", "metric.carbon": "CO2 emissions",
        "metric.energy_intensity": "energy intensity", "metric.carbon_intensity": "carbon intensity",
        "who.enterprise": "enterprise {id}", "who.park": "park {id}", "who.city": "city {id}",
    },
}


def recipients_file() -> Path:
    value = os.environ.get("NENGTAN_ALERT_RECIPIENTS_FILE")
    return Path(value) if value else REPO_ROOT / "expectations" / "recipients.yml"


def english_readers() -> set[str]:
    """Lower-cased addresses and domains that get English."""
    entries = {e.strip().lower() for e in os.environ.get("NENGTAN_ALERT_LANG_EN", "").split(",") if e.strip()}
    path = recipients_file()
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries |= {str(e).strip().lower() for e in data.get("english") or [] if str(e).strip()}
    return {e.lstrip("@") for e in entries}


def language_for(address: str, english: set[str] | None = None) -> str:
    """'en' if the address or its domain is listed as English, else 'zh'."""
    english = english_readers() if english is None else english
    address = address.strip().lower()
    domain = address.rsplit("@", 1)[-1]
    return "en" if address in english or domain in english else "zh"


def t(lang: str, key: str, **kwargs: object) -> str:
    return TEXT[lang if lang in TEXT else "zh"][key].format(**kwargs)
