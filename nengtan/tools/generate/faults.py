"""Ground truth of planted faults: what was broken on purpose, where, and how often.

Records stream to a JSON-lines file while the city is generated (a whole city's faults do
not have to fit in memory); the manifest is assembled from it at the end.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

# kind -> (what one opportunity is, probability per opportunity as a multiple of fault_rate)
KINDS: dict[str, tuple[str, float]] = {
    "gap": ("meter-day", 1.0),
    "silent_meter": ("meter-day", 0.2),
    "repeated_rows": ("meter-day", 1.0),
    "out_of_order": ("meter-day", 1.0),
    "backwards_reading": ("meter-day", 0.25),
    "rollover": ("meter", 2.0),
    "meter_replacement": ("meter", 0.5),
    "late_file": ("readings file", 3.0),
    "corrected_file": ("readings file", 2.0),
    "malformed_register": ("csv readings file", 2.0),
    "malformed_timestamp": ("csv readings file", 2.0),
    "misaligned_interval": ("csv readings file", 2.0),
    "unknown_meter": ("csv readings file", 2.0),
    "gb18030_file": ("file", 0.0),
    "declaration_mismatch": ("enterprise-month", 3.0),
    "declaration_resubmitted": ("enterprise-month", 3.0),
    "missing_declaration": ("key-user-month", 2.0),
    "certificate_double_claim": ("claimed certificate", 0.1),
}

# Planted cases: valid inputs that exercise an accounting rule (planted whatever the fault
# rate, in cities of at least roles.MIN_CASE_ENTERPRISES enterprises unless marked generic).
CASES: dict[str, str] = {
    "energy_exported": "CHP plant declares heat_exported (= its customer's metered heat) and electricity_exported",
    "feedstock": "chemical plant declares coal/gas feedstock, part of (<=) the fuel's item",
    "process_emissions": "generic: cement, BF/BOF steel and aluminium declare process_emissions_tco2",
    "late_declaration": "submitted after the 15th of the following month (late, still counts)",
    "declarations_pending": "generic: a month whose declarations have not landed by the last generated day",
    "green_power_trade": "generic: green_electricity_direct matched by green_power certificates of the trade",
    "green_power_uncovered": "declared green-power volume above its green_power certificates",
    "certificate_expired": "claim for a period after the certificate's validity",
    "certificate_last_valid_month": "claim in the last month of validity (counted)",
    "certificate_premature": "claim for a period before the generation month",
    "certificate_over_consumption": "certificates claimed above the month's electricity",
    "target_exceeded": "budget the projected year-end really exceeds (orange or red)",
    "intensity_reduction_behind": "base-year reduction target the year to date falls short of",
    "ets_shortfall": "ETS compliance gap with the deadline within 60 days of the last day",
    "ets_ccer_over_cap": "CCER surrendered above the 5 % cap",
    "ets_cross_check_mismatch": "verified emissions more than 10 % off the warehouse's scope 1 + 2",
    "ets_candidate": "covered sector above the ETS threshold, not ets_covered",
    "key_energy_user_candidate": "10,000 tce or more, not a key energy user",
    "industry_class_missing": "registry row without industry_class: the division alone places it (31 = steel)",
    "project_savings": "retrofit whose boundary meters really use less from commissioning (true fraction)",
    "new_facility_over_approval": "new facility using more than its approved annual energy",
}


def prob(kind: str, fault_rate: float) -> float:
    return min(0.5, KINDS[kind][1] * fault_rate)


class FaultLog:
    """Counts opportunities and planted faults per kind and streams the records."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = path.open("w", encoding="utf-8")
        self.planted: Counter[str] = Counter()
        self.opportunities: Counter[str] = Counter()

    def chance(self, kind: str, n: int) -> None:
        self.opportunities[kind] += int(n)

    def add(self, kind: str, *, file: str | None = None, line: int | None = None, detail: str = "",
            **key: object) -> None:
        assert kind in KINDS or kind in CASES, kind
        rec = {"kind": kind, **key, "file": file, "line": line, "detail": detail}
        self._fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
        self.planted[kind] += 1

    def close(self) -> None:
        self._fh.close()

    def cases(self) -> dict[str, dict]:
        return {kind: {"planted": self.planted.get(kind, 0), "what": what} for kind, what in CASES.items()}

    def summary(self) -> dict[str, dict]:
        out = {}
        for kind, (per, _) in KINDS.items():
            n = self.planted.get(kind, 0)
            opp = self.opportunities.get(kind, 0)
            out[kind] = {"planted": n, "per": per, "opportunities": opp,
                         "rate": round(n / opp, 6) if opp else None}
        return out
