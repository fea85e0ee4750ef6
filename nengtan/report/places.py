"""Names of the things a report names: the city (from configuration) and the GB/T 4754-2017
industry divisions, so no page shows a bare code."""

from __future__ import annotations

import os
from typing import Any

# GB/T 4754-2017 divisions (门类 B-E and the common others), code -> (zh, en).
DIVISIONS: dict[str, tuple[str, str]] = {
    "01": ("农业", "Agriculture"), "02": ("林业", "Forestry"), "03": ("畜牧业", "Animal husbandry"),
    "04": ("渔业", "Fishery"), "05": ("农、林、牧、渔专业及辅助性活动", "Agricultural support activities"),
    "06": ("煤炭开采和洗选业", "Mining and washing of coal"),
    "07": ("石油和天然气开采业", "Extraction of petroleum and natural gas"),
    "08": ("黑色金属矿采选业", "Mining of ferrous metal ores"),
    "09": ("有色金属矿采选业", "Mining of non-ferrous metal ores"),
    "10": ("非金属矿采选业", "Mining of non-metallic minerals"),
    "11": ("开采专业及辅助性活动", "Mining support activities"), "12": ("其他采矿业", "Other mining"),
    "13": ("农副食品加工业", "Processing of food from agricultural products"),
    "14": ("食品制造业", "Manufacture of foods"),
    "15": ("酒、饮料和精制茶制造业", "Manufacture of liquor, beverages and refined tea"),
    "16": ("烟草制品业", "Manufacture of tobacco"), "17": ("纺织业", "Manufacture of textiles"),
    "18": ("纺织服装、服饰业", "Manufacture of textile wearing apparel and clothing"),
    "19": ("皮革、毛皮、羽毛及其制品和制鞋业", "Manufacture of leather, fur, feather and footwear"),
    "20": ("木材加工和木、竹、藤、棕、草制品业", "Processing of timber; wood, bamboo, rattan, palm and straw products"),
    "21": ("家具制造业", "Manufacture of furniture"),
    "22": ("造纸和纸制品业", "Manufacture of paper and paper products"),
    "23": ("印刷和记录媒介复制业", "Printing and reproduction of recording media"),
    "24": ("文教、工美、体育和娱乐用品制造业", "Manufacture of articles for culture, education, arts, sport and entertainment"),
    "25": ("石油、煤炭及其他燃料加工业", "Processing of petroleum, coal and other fuels"),
    "26": ("化学原料和化学制品制造业", "Manufacture of raw chemical materials and chemical products"),
    "27": ("医药制造业", "Manufacture of medicines"), "28": ("化学纤维制造业", "Manufacture of chemical fibres"),
    "29": ("橡胶和塑料制品业", "Manufacture of rubber and plastic products"),
    "30": ("非金属矿物制品业", "Manufacture of non-metallic mineral products"),
    "31": ("黑色金属冶炼和压延加工业", "Smelting and pressing of ferrous metals"),
    "32": ("有色金属冶炼和压延加工业", "Smelting and pressing of non-ferrous metals"),
    "33": ("金属制品业", "Manufacture of metal products"),
    "34": ("通用设备制造业", "Manufacture of general-purpose machinery"),
    "35": ("专用设备制造业", "Manufacture of special-purpose machinery"),
    "36": ("汽车制造业", "Manufacture of automobiles"),
    "37": ("铁路、船舶、航空航天和其他运输设备制造业", "Manufacture of railway, ship, aerospace and other transport equipment"),
    "38": ("电气机械和器材制造业", "Manufacture of electrical machinery and equipment"),
    "39": ("计算机、通信和其他电子设备制造业", "Manufacture of computers, communication and other electronic equipment"),
    "40": ("仪器仪表制造业", "Manufacture of measuring instruments"), "41": ("其他制造业", "Other manufacturing"),
    "42": ("废弃资源综合利用业", "Utilisation of waste resources"),
    "43": ("金属制品、机械和设备修理业", "Repair of metal products, machinery and equipment"),
    "44": ("电力、热力生产和供应业", "Production and supply of electricity and heat"),
    "45": ("燃气生产和供应业", "Production and supply of gas"),
    "46": ("水的生产和供应业", "Production and supply of water"),
    "47": ("房屋建筑业", "Construction of buildings"), "48": ("土木工程建筑业", "Civil engineering"),
    "49": ("建筑安装业", "Construction installation"),
    "50": ("建筑装饰、装修和其他建筑业", "Building decoration and other construction"),
    "59": ("仓储业", "Warehousing"), "61": ("住宿业", "Accommodation"), "62": ("餐饮业", "Catering"),
    "65": ("软件和信息技术服务业", "Software and information technology services"),
    "83": ("教育", "Education"), "84": ("卫生", "Health"),
}
# The six energy-intensive divisions of China's statistics (六大高耗能行业).
ENERGY_INTENSIVE = ("25", "26", "30", "31", "32", "44")

# Prefecture-level division codes (GB/T 2260) of Jiangsu, for a city configured only by its id.
CITY_CODES: dict[str, tuple[str, str]] = {
    "320100": ("南京市", "Nanjing"), "320200": ("无锡市", "Wuxi"), "320300": ("徐州市", "Xuzhou"),
    "320400": ("常州市", "Changzhou"), "320500": ("苏州市", "Suzhou"), "320600": ("南通市", "Nantong"),
    "320700": ("连云港市", "Lianyungang"), "320800": ("淮安市", "Huai'an"), "320900": ("盐城市", "Yancheng"),
    "321000": ("扬州市", "Yangzhou"), "321100": ("镇江市", "Zhenjiang"), "321200": ("泰州市", "Taizhou"),
    "321300": ("宿迁市", "Suqian"),
}


def division(code: Any) -> tuple[str, str]:
    """(zh, en) name of a two-digit division, with its code: '26 化学原料和化学制品制造业'."""
    text = "" if code is None else str(code).strip()[:2]
    if not text:
        return "未分类", "Unclassified"
    zh, en = DIVISIONS.get(text, ("其他行业", "Other division"))
    return f"{text} {zh}", f"{text} {en}"


def city_name(city_id: str | None, cfg: Any = None) -> tuple[str, str]:
    """The city's name from configuration (NENGTAN_CITY_NAME_ZH / _EN), else its division code's."""
    extra = getattr(cfg, "extra", None) or {}
    zh = os.environ.get("NENGTAN_CITY_NAME_ZH") or extra.get("city_name_zh") or getattr(cfg, "city_name_zh", None)
    en = os.environ.get("NENGTAN_CITY_NAME_EN") or extra.get("city_name_en") or getattr(cfg, "city_name_en", None)
    known = CITY_CODES.get(str(city_id or ""))
    if known:
        zh, en = zh or known[0], en or known[1]
    return zh or "全市", en or zh or "City"
