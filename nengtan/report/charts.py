"""Charts of the park and city summaries, drawn with matplotlib into PNG bytes.

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
from matplotlib.patches import Patch  # noqa: E402

from nengtan.report.figures import Chart  # noqa: E402
from nengtan.report.i18n import t  # noqa: E402

CJK_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
LEVEL_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "orange": "#ef6c00", "red": "#c62828", "": "#bdbdbd"}


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
            ax.bar(months, [v or 0 for v in chart.data["tce"]], color="#1565c0", label=t("chart.tce", lang))
            ax.set_xlabel(t("chart.month", lang))
            ax.set_ylabel(t("chart.tce", lang))
            ax2 = ax.twinx()
            ax2.plot(months, [v or 0 for v in chart.data["co2"]], color="#c62828", marker="o",
                     label=t("chart.co2", lang))
            ax2.set_ylabel(t("chart.co2", lang))
            ax2.set_ylim(bottom=0)
        elif chart.kind == "ranking":
            items = list(reversed(chart.data["items"]))
            labels = [(zh if lang == "zh" else en) or code for code, zh, en, _ in items]
            ax.barh([lb[:30] for lb in labels], [v or 0 for *_, v in items], color="#1565c0")
            ax.set_xlabel(t("chart.tce", lang))
            ax.tick_params(axis="y", labelsize=7)
        else:
            items = chart.data["items"]
            cols = max(1, min(12, len(items)))
            for i, (code, _zh, _en, level) in enumerate(items):
                r, c = divmod(i, cols)
                ax.add_patch(plt.Rectangle((c, -r - 1), 0.92, 0.92, color=LEVEL_COLOURS.get(level.lower(), "#bdbdbd")))
                ax.text(c + 0.46, -r - 0.54, code[-4:], ha="center", va="center", fontsize=6, color="white")
            rows = (len(items) + cols - 1) // cols
            ax.set_xlim(0, cols)
            ax.set_ylim(-max(rows, 1), 0)
            ax.set_aspect("equal")
            ax.axis("off")
            ax.legend(handles=[Patch(color=LEVEL_COLOURS[k], label=t(f"level.{k}", lang))
                               for k in ("green", "yellow", "orange", "red")],
                      loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
        fig.tight_layout()
        return _png(fig)
