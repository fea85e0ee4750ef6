"""The CJK font every report PDF embeds (as a subset): Noto Sans CJK SC from fonts-noto-cjk.

reportlab embeds TrueType outlines only, and Debian ships Noto CJK as CFF (PostScript)
outlines in a collection, so the SC face is converted once to TrueType (quadratic
curves, fontTools' cu2qu), restricted to the characters a Chinese report can contain
(Latin, general punctuation, CJK symbols, the CJK Unified Ideographs and extension A, and
full-width forms), and cached keyed by the source file. reportlab then embeds only the
glyphs a PDF uses. Without the font the reports fail loudly rather than fall back to a
non-embedded CID font that shows blank pages in viewers without Adobe's CJK pack.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

FONT_NAME = "NotoSansSC-Nengtan"
SOURCES = (
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), "Noto Sans CJK SC"),
    (Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"), "Noto Serif CJK SC"),
)
CONVERTER_VERSION = "1"
RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x2000, 0x206F), (0x2100, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF),
          (0x2500, 0x25FF), (0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF))


class FontUnavailable(RuntimeError):
    pass


def cache_dir() -> Path:
    explicit = os.environ.get("NENGTAN_FONT_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nengtan" / "fonts"


def _source() -> tuple[Path, int]:
    from fontTools.ttLib import TTCollection

    for path, family in SOURCES:
        if not path.exists():
            continue
        coll = TTCollection(str(path), lazy=True)
        for index, face in enumerate(coll.fonts):
            if face["name"].getDebugName(1) == family or face["name"].getDebugName(4) == family:
                return path, index
    raise FontUnavailable("no Noto CJK font found (install Debian's fonts-noto-cjk): report PDFs must embed "
                          f"a CJK font; looked for {[str(p) for p, _ in SOURCES]}")


def _convert(source: Path, index: int, target: Path) -> None:
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(str(source), fontNumber=index)
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes={c for lo, hi in RANGES for c in range(lo, hi + 1)})
    subsetter.subset(font)
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\0\1\0\0"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    font.save(str(tmp))
    os.replace(tmp, target)


@lru_cache(maxsize=1)
def truetype_path() -> Path:
    """The cached TrueType conversion of the CJK font (made once, about 20 s)."""
    source, index = _source()
    stat = source.stat()
    key = hashlib.sha256(f"{source}|{index}|{stat.st_size}|{int(stat.st_mtime)}|{CONVERTER_VERSION}".encode())
    name = f"NotoSansSC-{key.hexdigest()[:16]}.ttf"
    for folder in (cache_dir(), Path(tempfile.gettempdir()) / "nengtan-fonts"):  # a read-only home falls back
        target = folder / name
        if target.exists():
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _convert(source, index, target)
            return target
        except OSError:  # not writable (permission, read-only file system)
            continue
    raise FontUnavailable(f"no writable folder to cache the converted CJK font (tried {cache_dir()})")


@lru_cache(maxsize=1)
def register() -> str:
    """Register the embedded CJK font with reportlab; returns its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, str(truetype_path())))
    return FONT_NAME
