"""Chinese and English names for synthetic parks and enterprises (Wuxi-like, invented).

Names are built from small word tables so that a whole city of 10,000 enterprises gets
unique, plausible names without any external data.
"""

from __future__ import annotations

import numpy as np

# (name_zh, name_en, division code, short zh, slug) — Wuxi's districts and county-level cities.
DISTRICTS: list[tuple[str, str, str, str, str]] = [
    ("新吴区", "Xinwu District", "320214", "新吴", "xinwu"),
    ("锡山区", "Xishan District", "320205", "锡山", "xishan"),
    ("惠山区", "Huishan District", "320206", "惠山", "huishan"),
    ("江阴市", "Jiangyin", "320281", "江阴", "jiangyin"),
    ("宜兴市", "Yixing", "320282", "宜兴", "yixing"),
    ("滨湖区", "Binhu District", "320211", "滨湖", "binhu"),
    ("梁溪区", "Liangxi District", "320213", "梁溪", "liangxi"),
]

PARK_KINDS: list[tuple[str, str, str]] = [
    ("高新技术产业开发区", "High-tech Industrial Development Zone", "hitech"),
    ("经济开发区", "Economic Development Zone", "edz"),
    ("临港工业园", "Riverside Industrial Park", "riverside"),
    ("智能制造产业园", "Smart Manufacturing Park", "smart"),
    ("新材料产业园", "New Materials Park", "materials"),
    ("精细化工园区", "Fine Chemicals Park", "chem"),
    ("特钢产业园", "Special Steel Park", "steel"),
    ("纺织工业园", "Textile Industrial Park", "textile"),
]

ORDINAL_ZH = ["", "二期", "三期", "四期", "五期", "六期", "七期", "八期", "九期"]

# Trade-name syllable pairs (字号) with a pinyin rendering.
TRADE_NAMES: list[tuple[str, str]] = [
    ("华锡", "Huaxi"), ("锡通", "Xitong"), ("长江", "Changjiang"), ("太湖", "Taihu"),
    ("新瑞", "Xinrui"), ("恒达", "Hengda"), ("金源", "Jinyuan"), ("宏昌", "Hongchang"),
    ("振华", "Zhenhua"), ("东方", "Dongfang"), ("明远", "Mingyuan"), ("海澜", "Hailan"),
    ("永盛", "Yongsheng"), ("鼎盛", "Dingsheng"), ("天润", "Tianrun"), ("博远", "Boyuan"),
    ("泰和", "Taihe"), ("嘉禾", "Jiahe"), ("瑞丰", "Ruifeng"), ("信达", "Xinda"),
    ("国润", "Guorun"), ("精工", "Jinggong"), ("华晟", "Huasheng"), ("宝丰", "Baofeng"),
    ("荣盛", "Rongsheng"), ("兴业", "Xingye"), ("中恒", "Zhongheng"), ("凯达", "Kaida"),
    ("远航", "Yuanhang"), ("光明", "Guangming"), ("恒通", "Hengtong"), ("德润", "Derun"),
    ("锦程", "Jincheng"), ("汇丰", "Huifeng"), ("盛达", "Shengda"), ("万邦", "Wanbang"),
    ("新宇", "Xinyu"), ("昌盛", "Changsheng"), ("华润", "Huarun"), ("天成", "Tiancheng"),
    ("同创", "Tongchuang"), ("立信", "Lixin"), ("金鹰", "Jinying"), ("宏远", "Hongyuan"),
    ("晶华", "Jinghua"), ("澄江", "Chengjiang"), ("惠泉", "Huiquan"), ("梁溪", "Liangxi"),
    ("蠡湖", "Lihu"), ("鸿运", "Hongyun"), ("通达", "Tongda"), ("安泰", "Antai"),
    ("瑞昌", "Ruichang"), ("金石", "Jinshi"), ("华光", "Huaguang"), ("维新", "Weixin"),
    ("正泰", "Zhengtai"), ("启明", "Qiming"), ("九龙", "Jiulong"), ("恒信", "Hengxin"),
]

INDUSTRY_WORDS: dict[str, list[tuple[str, str]]] = {
    "39": [("电子科技", "Electronics Technology"), ("微电子", "Microelectronics"),
           ("半导体", "Semiconductor"), ("光电", "Optoelectronics"), ("通信设备", "Telecom Equipment")],
    "17": [("纺织", "Textile"), ("印染", "Dyeing and Printing"), ("纺织科技", "Textile Technology"),
           ("化纤织造", "Synthetic Fibre Weaving")],
    "26": [("化工", "Chemical"), ("精细化工", "Fine Chemicals"), ("新材料", "New Materials"),
           ("化学品", "Chemicals")],
    "34": [("机械", "Machinery"), ("精密机械", "Precision Machinery"), ("动力设备", "Power Equipment"),
           ("轴承", "Bearing"), ("液压", "Hydraulics")],
    "31": [("特钢", "Special Steel"), ("钢铁", "Iron and Steel"), ("金属制品", "Metal Products"),
           ("钢管", "Steel Pipe")],
    "30": [("水泥", "Cement"), ("建材", "Building Materials")],
    "32": [("铝业", "Aluminium"), ("有色金属", "Nonferrous Metals")],
    "44": [("热电", "Thermal Power"), ("能源", "Energy"), ("电力", "Power")],
}

SUFFIXES: list[tuple[str, str]] = [("有限公司", "Co., Ltd."), ("股份有限公司", "Corp., Ltd.")]
PLANT_ZH = ["", "第二工厂", "第三工厂", "第四工厂", "第五工厂", "第六工厂", "第七工厂", "第八工厂"]
PLANT_EN = ["", " Plant 2", " Plant 3", " Plant 4", " Plant 5", " Plant 6", " Plant 7", " Plant 8"]


def park_names(n: int, rng: np.random.Generator) -> list[dict[str, str]]:
    """``n`` unique parks spread over the districts, the main industrial ones first."""
    out: list[dict[str, str]] = []
    seen: dict[tuple[int, int], int] = {}
    for i in range(n):
        d = i % len(DISTRICTS) if i < len(DISTRICTS) else int(rng.integers(0, 4))
        k = int(rng.integers(0, len(PARK_KINDS))) if i >= 3 else i % len(PARK_KINDS)
        nth = seen.get((d, k), 0)
        seen[(d, k)] = nth + 1
        zh_d, en_d, code, short, slug = DISTRICTS[d]
        zh_k, en_k, slug_k = PARK_KINDS[k]
        suffix_zh = ORDINAL_ZH[nth] if nth < len(ORDINAL_ZH) else f"{nth + 1}期"
        suffix_en = f" Phase {nth + 1}" if nth else ""
        out.append({
            "name_zh": f"无锡{short}{zh_k}{suffix_zh}",
            "name_en": f"Wuxi {en_d.replace(' District', '')} {en_k}{suffix_en}",
            "district": zh_d,
            "division": code,
            "slug": f"{slug}-{slug_k}{nth + 1 if nth else ''}",
        })
    return out


class EnterpriseNamer:
    """Unique (name_zh, name_en, slug) per enterprise: trade name × industry word × legal form,
    drawn without replacement in a shuffled order; second plants only once those run out."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.order: dict[str, list[tuple[int, int, int]]] = {}
        self.next: dict[str, int] = {}

    def name(self, i: int, industry: str) -> tuple[str, str, str, int]:
        """(name_zh, name_en, slug, index of the industry word used)."""
        words = INDUSTRY_WORDS[industry]
        if industry not in self.order:
            combos = [(t, w, s) for t in range(len(TRADE_NAMES)) for w in range(len(words))
                      for s in range(len(SUFFIXES))]
            perm = self.rng.permutation(len(combos))
            self.order[industry] = [combos[int(k)] for k in perm]
            self.next[industry] = 0
        combos = self.order[industry]
        n = self.next[industry]
        self.next[industry] = n + 1
        plant, k = divmod(n, len(combos))
        t, w, s = combos[k]
        (tzh, ten), (wzh, wen), (szh, sen) = TRADE_NAMES[t], words[w], SUFFIXES[s]
        if plant < len(PLANT_ZH):
            return (f"无锡{tzh}{wzh}{szh}{PLANT_ZH[plant]}", f"Wuxi {ten} {wen} {sen}{PLANT_EN[plant]}",
                    f"{ten.lower()}{i}", w)
        return (f"无锡{tzh}{wzh}{szh}第{plant + 1}工厂", f"Wuxi {ten} {wen} {sen} Plant {plant + 1}",
                f"{ten.lower()}{i}", w)
