"""Planted cases: the enterprises that exercise each accounting rule of the methodology.

A city of at least :data:`MIN_CASE_ENTERPRISES` enterprises gets, deterministically per seed:
a coal-fired CHP plant (4411) selling heat to a neighbour in its park, a chemical plant
(2621) with coal and gas feedstock, a cement works (3011) and an aluminium smelter (3216)
with process emissions, green-power traders (one whose trade is not covered by
certificates), certificate holders with an expired, a premature and an over-consumption
claim, late declarers, national-ETS enterprises with a shortfall, a CCER over-use and a
verified figure that disagrees, and candidates for the ETS and key-energy-user lists.
Smaller cities (the unit-test cities) keep only the generic features (new columns, stocks,
steel process emissions). Every role's credit code is in the manifest under ``roles``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nengtan.tools.generate.city import City

MIN_CASE_ENTERPRISES = 20
# GB/T 4754-2017 classes of the national ETS sectors (methodology: carbon market)
ETS_SECTOR = {"4411": "power", "3110": "steel", "3120": "steel", "3130": "steel", "3011": "cement",
              "3216": "aluminium"}
ETS_THRESHOLD_TCO2 = 26_000.0
KEY_USER_THRESHOLD_TCE = 10_000.0
CONVERTED = (("chp", "44"), ("cement", "30"), ("aluminium", "32"), ("feedstock_chemical", "26"))


def plan(industries: list[str], park_of: np.ndarray, rng: np.random.Generator) -> dict[str, int]:
    """Choose the plants of the cases and give them their division (before they are drawn)."""
    n = len(industries)
    order = [int(i) for i in rng.permutation(n)]
    taken: set[int] = set()

    def take(pred) -> int | None:
        for i in order:
            if i not in taken and pred(i):
                taken.add(i)
                return i
        return None

    roles: dict[str, int] = {}
    for role, code in CONVERTED:
        i = take(lambda j: industries[j] in ("39", "34")) if role != "feedstock_chemical" else \
            take(lambda j: industries[j] == "26")
        if i is None:
            i = take(lambda j: True)
        industries[i] = code
        roles[role] = i
    chp_park = int(park_of[roles["chp"]])
    nb = take(lambda j: int(park_of[j]) == chp_park and industries[j] in ("26", "17"))
    if nb is None:
        nb = take(lambda j: int(park_of[j]) == chp_park)
    if nb is None:
        nb = take(lambda j: industries[j] not in ("31",))
        park_of[nb] = chp_park
    roles["chp_heat_customer"] = nb
    return roles


def finish(city: City, roles: dict[str, int], rng: np.random.Generator) -> dict[str, int]:
    """Size the planted plants and choose the roles among the drawn enterprises."""
    ents = city.enterprises
    chp, nb = ents[roles["chp"]], ents[roles["chp_heat_customer"]]
    s = float(rng.uniform(0.8, 1.2))
    chp.update(size=s, metered={"electricity": 20_000 * s}, fuels={"raw_coal": 400.0 * s, "diesel": 0.5},
               heat_to=roles["chp_heat_customer"], power_efficiency=0.36, industry_class="4411")
    nb["metered"]["heat"] = float(rng.uniform(400, 700))
    nb["heat_from"] = roles["chp"]
    cem = ents[roles["cement"]]
    s = float(rng.uniform(0.8, 1.3))
    cem.update(size=s, metered={"electricity": 250_000 * s}, fuels={"raw_coal": 320.0 * s, "diesel": 1.0 * s},
               industry_class="3011")
    alu = ents[roles["aluminium"]]
    s = float(rng.uniform(0.7, 1.0))
    alu.update(size=s, metered={"electricity": 1_500_000 * s, "natural_gas": 8_000 * s},
               fuels={"diesel": 0.5 * s}, industry_class="3216")
    chem = ents[roles["feedstock_chemical"]]
    s = float(rng.uniform(0.8, 1.2))
    chem["metered"]["natural_gas"] = 30_000 * s
    chem["fuels"]["raw_coal"] = 250.0 * s
    chem.update(feedstock={"raw_coal": 0.55, "natural_gas": 0.4}, industry_class="2621")

    busy = set(roles.values())
    order = [int(i) for i in rng.permutation(len(ents))]

    def pick(pred) -> int | None:
        for i in order:
            if i not in busy and pred(ents[i]):
                busy.add(i)
                return i
        return None

    # green-power trading: at least two traders, one of them not covered by certificates
    traders = [pick(lambda e: e["green_direct"] > 0) for _ in range(2)]
    for k, t in enumerate(traders):
        if t is None:
            t = pick(lambda e: e["industry_code"] in ("39", "34"))
            ents[t]["green_direct"] = float(rng.uniform(0.1, 0.3))
            traders[k] = t
        ents[t]["cert_share"] = 0.0  # their certificates come with the trade
    roles["green_power_trader"] = traders[0]
    roles["green_power_uncovered"] = traders[1]
    ents[traders[1]]["green_cover"] = 0.7
    for role in ("certificate_over_consumption", "certificate_expired_claim", "certificate_premature_claim"):
        i = pick(lambda e: e["cert_share"] > 0 and e["green_direct"] == 0)
        if i is None:
            i = pick(lambda e: e["green_direct"] == 0)
            ents[i]["cert_share"] = float(rng.uniform(0.05, 0.2))
        roles[role] = i
    ents[roles["certificate_over_consumption"]]["cert_share"] = 1.25
    roles["late_declarer"] = pick(lambda e: True)
    roles["late_declarer_2"] = pick(lambda e: True)
    for r in ("late_declarer", "late_declarer_2"):
        ents[roles[r]]["late"] = True
    roles["budget_exceeded"] = pick(lambda e: True)  # its budget is planted red
    roles["intensity_reduction_behind"] = pick(lambda e: True)  # its reduction target is out of reach
    return roles


def classify(city: City, roles: dict[str, int], year: int, rng: np.random.Generator, cases: bool) -> None:
    """key_energy_user and ets_covered from the expected year; plant the list candidates."""
    from nengtan.tools.generate.city import annual_figures

    ents = city.enterprises
    for e in ents:
        f = annual_figures(e, year)
        e["annual_tce"], e["annual_co2"], e["annual_direct_co2"] = f["tce_net"], f["co2_net"], f["direct_co2"]
        e["key_energy_user"] = f["tce_net"] >= KEY_USER_THRESHOLD_TCE or (f["tce_net"] >= 5000 and rng.random() < 0.5)
        e["ets_sector"] = ETS_SECTOR.get(e["industry_class"])
        e["ets_covered"] = bool(e["ets_sector"]) and f["direct_co2"] >= ETS_THRESHOLD_TCO2
    if not cases:
        return
    busy = set(roles.values())
    above = sorted((i for i, e in enumerate(ents) if e["ets_covered"] and i not in busy),
                   key=lambda i: -ents[i]["annual_direct_co2"])
    for k, i in enumerate(above[:2]):
        ents[i]["ets_covered"] = False
        roles["ets_candidate" if k == 0 else "ets_candidate_2"] = i
        busy.add(i)
    # the key-energy-user candidate: the smallest enterprise outside the roles and the ETS sectors
    # at or above the threshold (one is grown past it when there is none)
    rest = [i for i, e in enumerate(ents) if i not in busy and not e["ets_sector"]]
    if rest:
        over = [i for i in rest if ents[i]["annual_tce"] >= KEY_USER_THRESHOLD_TCE * 1.05]
        i = min(over, key=lambda j: ents[j]["annual_tce"]) if over else max(rest, key=lambda j: ents[j]["annual_tce"])
        e = ents[i]
        if not over:
            k = KEY_USER_THRESHOLD_TCE * 1.3 / max(e["annual_tce"], 1.0)
            e["metered"] = {et: q * k for et, q in e["metered"].items()}
            e["fuels"] = {it: q * k for it, q in e["fuels"].items()}
            e["size"] *= k
            e.pop("_annual", None)
            f = annual_figures(e, year)
            e["annual_tce"], e["annual_co2"], e["annual_direct_co2"] = f["tce_net"], f["co2_net"], f["direct_co2"]
        e["key_energy_user"] = False
        roles["key_energy_user_candidate"] = i
    for r in ("chp", "cement", "aluminium"):
        ents[roles[r]]["key_energy_user"] = True
        ents[roles[r]]["ets_covered"] = True
    covered = [roles["cement"], roles["chp"], roles["aluminium"]]
    roles["ets_shortfall"], roles["ets_ccer_over_cap"], roles["ets_cross_check_mismatch"] = covered
