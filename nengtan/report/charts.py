"""Charts of the reports (monthly trend against last year, ranking), drawn with matplotlib into PNG bytes.

Chinese labels need a CJK font file (Noto Sans CJK from Debian's fonts-noto-cjk); without
one the charts fall back to English labels rather than drawing empty boxes. The PNGs
carry no timestamp, so the same figures give the same bytes.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from nengtan.report.figures import Chart  # noqa: E402
from nengtan.report.i18n import t  # noqa: E402

CJK_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Family name of an installed CJK font, registered with matplotlib, or None."""
    for path in CJK_FONT_FILES:
        if path.exists():
            font_manager.fontManager.addfont(str(path))
            names = [f.name for f in font_manager.fontManager.ttflist if Path(f.fname) == path]
            sc = [n for n in names if n.endswith(" SC")]
            return (sc or names or [None])[0]
    return None


def chart_language(language: str) -> str:
    return "zh" if language == "zh" and cjk_font() else "en"


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def render_chart(chart: Chart, language: str) -> bytes:
    lang = chart_language(language)
    family = cjk_font() if lang == "zh" else "DejaVu Sans"
    with plt.rc_context({"font.family": [family, "DejaVu Sans"], "axes.unicode_minus": False,
                         "svg.hashsalt": "nengtan"}):
        fig, ax = plt.subplots(figsize=(7.2, 3.4))
        ax.set_title(t(chart.title, lang))
        if chart.kind == "trend":
            months = [m[5:] for m in chart.data["months"]]
            x = list(range(len(months)))
            width = 0.38
            ax.bar([i - width / 2 for i in x], [v or 0 for v in chart.data["tce_last_year"]], width,
                   color="#90a4ae", label=t("chart.last_year", lang))
            ax.bar([i + width / 2 for i in x], [v or 0 for v in chart.data["tce"]], width, color="#1565c0",
                   label=t("chart.this_year", lang))
            ax.set_xticks(x, months)
            ax.set_xlabel(t("chart.month", lang))
            ax.set_ylabel(t("chart.tce", lang))
            ax.legend(fontsize=7)
        else:
            items = list(reversed(chart.data["items"]))
            labels = [(zh if lang == "zh" else en) or zh for zh, en, _ in items]
            ax.barh([lb[:30] for lb in labels], [v or 0 for *_, v in items], color="#1565c0")
            ax.set_xlabel(t("chart.tce", lang))
            ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        return _png(fig)
