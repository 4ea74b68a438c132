"""Render a structured Chinese document (e.g. the printable 申报方案) to A4 PDF bytes
with an embedded TrueType CJK font, a header and a page-count footer on every page.
"""
from __future__ import annotations

import copy
import logging
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence, Union

from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import TableHeadingsDisplay, VAlign, WrapMode, XPos, YPos
from fpdf.fonts import FontFace, SubsetMap, TTFFont

__all__ = [
    "Document",
    "Heading",
    "Paragraph",
    "Table",
    "KeyValues",
    "PageBreak",
    "Block",
    "FontNotFound",
    "FONT_CANDIDATES",
    "find_font",
    "render",
]

# TrueType (glyf) outlines only, embedded as CIDFontType2 ("CID TrueType"), the form the
# printed plan is checked for; CFF-based .otf CJK fonts (Noto CJK) are left out on purpose.
# (path, face index within the collection); the Debian packages are fonts-wqy-zenhei
# and fonts-arphic-uming.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
FONT_ENV = "INNOBASE_CJK_FONT"  # an explicit .ttf/.ttc path, for hosts laid out differently

FAMILY = "cjk"
MARGIN = 20.0  # mm; leaves room for binding on the double-sided print the guide asks for
BODY_TOP = 24.0
FOOTER_FROM_BOTTOM = 12.0
BODY_SIZE = 11.0
LINE = 7.0  # mm per body line: ~1.8x the font size, the usual spacing of Chinese forms
HEADING_SIZES = {1: 15.0, 2: 13.0, 3: 12.0}
SHADE = (235, 235, 235)
CELL_SIZE = 10.0
CELL_LINE = 6.0
PAD_V, PAD_H = 1.2, 1.5


class _DropBitmapSubsetWarning(logging.Filter):
    # WenQuanYi ships embedded bitmap strikes (BDF/EBDT) that fontTools cannot subset and
    # drops, warning on every render; the outlines we print are unaffected.
    def filter(self, record: logging.LogRecord) -> bool:
        return "NOT subset" not in record.getMessage()


logging.getLogger("fontTools.subset").addFilter(_DropBitmapSubsetWarning())


# --- the document model -------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str  # "\n" starts a new line within the paragraph


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    widths: list[float] | None = None  # relative; None means equal columns


@dataclass(frozen=True)
class KeyValues:
    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Union[Heading, Paragraph, Table, KeyValues, PageBreak]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str | None = None
    header_left: str = ""
    header_right: str = ""
    blocks: Sequence[Block] = field(default_factory=list)
    # Fixing the creation date makes the bytes a pure function of the document, so a
    # stored digest of the printed plan can be checked by rendering it again.
    created_at: datetime | None = None


class FontNotFound(RuntimeError):
    pass


def find_font() -> tuple[str, int]:
    """The first installed CJK TrueType font: (path, face index in the collection)."""
    override = os.environ.get(FONT_ENV)
    if override:
        if not Path(override).is_file():
            raise FontNotFound(f"{FONT_ENV}={override} does not exist")
        return override, 0
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    looked = ", ".join(path for path, _ in FONT_CANDIDATES)
    raise FontNotFound(
        f"no Chinese TrueType font found (looked for {looked}); install the Debian package "
        f"fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei) or fonts-arphic-uming, "
        f"or point {FONT_ENV} at a TrueType .ttf/.ttc"
    )


# --- the font, parsed once -------------------------------------------------------

# (path, face index) -> the font as fpdf2 parses it, never printed with: a CJK collection is
# large, and parsing its metrics and character map took most of a plan's first rendering.
_PARSED: dict[tuple[str, int], TTFFont] = {}


def _parsed(path: str, index: int) -> tuple[TTFFont, ttLib.TTFont | None]:
    """The parsed font, and on the first call its outlines too, for that rendering to use up."""
    key = (path, index)
    font = _PARSED.get(key)
    if font is not None:
        return font, None
    parser = FPDF()  # two threads (intake prints in a thread pool) may both parse it; one is kept
    parser.add_font(FAMILY, "", path, collection_font_number=index)
    font = parser.fonts[FAMILY]
    outlines, font.ttfont = font.ttfont, None  # kept fonts need no outlines: each rendering reads its own
    kept = _PARSED.setdefault(key, font)
    return kept, outlines if kept is font else None


def _add_cjk_font(pdf: FPDF, path: str, index: int) -> None:
    """What `pdf.add_font(FAMILY, "", path, collection_font_number=index)` adds, from the parsed
    font: its metrics and character map are shared, read-only; what a rendering changes is its
    own (the glyphs it uses, the widths it looks up, the descriptor the output numbers) and so
    are the outlines, read again, since the output subsets them in place."""
    parsed, outlines = _parsed(path, index)
    font = copy.copy(parsed)
    font.i = len(pdf.fonts) + 1
    font.cw = defaultdict(parsed.cw.default_factory, parsed.cw)
    font.glyph_ids = dict(parsed.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.desc = copy.copy(parsed.desc)
    font._hbfont = None
    font.ttfont = outlines if outlines is not None else ttLib.TTFont(
        path, recalcTimestamp=False, fontNumber=index, lazy=True)
    font.subset = SubsetMap(font)
    pdf.fonts[FAMILY] = font


# --- rendering ------------------------------------------------------------------


class _Pdf(FPDF):
    def __init__(self, document: Document, font: tuple[str, int]):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.document = document
        _add_cjk_font(self, *font)
        self.set_margins(MARGIN, BODY_TOP, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN)
        self.alias_nb_pages("{nb}")
        self.body_top = BODY_TOP

    def header(self) -> None:
        left, right = self.document.header_left, self.document.header_right
        if not (left or right):
            return
        self.set_font(FAMILY, "", 8)
        with self.local_context(text_color=(90, 90, 90)):
            self.set_xy(MARGIN, 10)
            gap = 6
            if self.get_string_width(left) + gap + self.get_string_width(right) <= self.epw:
                self.cell(self.epw / 2, 4, left, align="L")
                self.cell(self.epw / 2, 4, right, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            else:
                # Stacked rather than truncated: the number and digest must print in full.
                if left:
                    self.multi_cell(self.epw, 4, left, align="L", wrapmode=WrapMode.CHAR,
                                    new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                if right:
                    self.multi_cell(self.epw, 4, right, align="R", wrapmode=WrapMode.CHAR,
                                    new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            rule_y = self.get_y() + 1
            with self.local_context(draw_color=(150, 150, 150), line_width=0.2):
                self.line(MARGIN, rule_y, self.w - MARGIN, rule_y)
        self.body_top = max(BODY_TOP, rule_y + 4)
        self.set_xy(MARGIN, self.body_top)

    def footer(self) -> None:
        self.set_y(-FOOTER_FROM_BOTTOM - 4)
        self.set_font(FAMILY, "", 9)
        with self.local_context(text_color=(90, 90, 90)):
            self.cell(0, 5, f"第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")

    # blocks

    def draw_title(self, title: str, subtitle: str | None) -> None:
        self.ln(6)
        self.set_font(FAMILY, "", 20)
        self._bold_multi_cell(title, 10, align="C")
        if subtitle:
            self.ln(2)
            self.set_font(FAMILY, "", 13)
            self.multi_cell(0, 8, subtitle, align="C", wrapmode=WrapMode.CHAR,
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(6)

    def draw_heading(self, block: Heading) -> None:
        size = HEADING_SIZES.get(block.level, HEADING_SIZES[3])
        height = size * 0.6
        # Keep a heading with at least two lines of what follows it.
        if self.will_page_break(height + 2 + 2 * LINE):
            self.add_page()
        self.ln(3 if block.level == 1 else 2)
        self.set_font(FAMILY, "", size)
        self._bold_multi_cell(block.text, height, align="L")
        self.ln(1.5)

    def draw_paragraph(self, block: Paragraph) -> None:
        self.set_font(FAMILY, "", BODY_SIZE)
        lines = self.multi_cell(0, LINE, block.text, wrapmode=WrapMode.CHAR,
                                dry_run=True, output="LINES")
        for line in _hang_punctuation(lines):
            self.cell(0, LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def draw_table(self, block: Table) -> None:
        n = len(block.columns)
        if n == 0:
            raise ValueError("a table needs at least one column")
        if block.widths is not None and len(block.widths) != n:
            raise ValueError(f"table has {n} columns but {len(block.widths)} widths")
        for i, row in enumerate(block.rows):
            if len(row) > n:
                raise ValueError(f"table row {i + 1} has {len(row)} cells for {n} columns")
        self.set_font(FAMILY, "", CELL_SIZE)
        weights = list(block.widths) if block.widths else [1.0] * n
        widths = [self.epw * w / sum(weights) for w in weights]
        heading_height = self._row_height(block.columns, widths)
        # Plans carry numbers (target values) as well as text; None reads as an empty cell.
        rows = [[_text(c) for c in row] + [""] * (n - len(row)) for row in block.rows]
        with self.table_context(
            col_widths=tuple(weights),
            headings_style=FontFace(emphasis="", fill_color=SHADE),
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
        ) as table:
            heading = table.row()
            for column in block.columns:
                heading.cell(column)
            for row in self._rows_that_fit_a_page(rows, widths, heading_height):
                cells = table.row()
                for text in row:
                    cells.cell(text)
        self.ln(3)

    def draw_key_values(self, block: KeyValues) -> None:
        self.set_font(FAMILY, "", CELL_SIZE)
        weights = (1, 3)
        widths = [self.epw * w / sum(weights) for w in weights]
        pairs = [[_text(key), _text(value)] for key, value in block.pairs]
        with self.table_context(col_widths=weights, first_row_as_headings=False) as table:
            for key, value in self._rows_that_fit_a_page(pairs, widths, 0):
                row = table.row()
                row.cell(key, style=FontFace(fill_color=SHADE))
                row.cell(value)
        self.ln(3)

    def _cell_lines(self, text: str, width: float) -> list[str]:
        # Table cells pad with PAD_H instead of the cell margin, so measure without it.
        saved, self.c_margin = self.c_margin, 0
        try:
            return self.multi_cell(width - 2 * PAD_H, CELL_LINE, text, dry_run=True,
                                   output="LINES", wrapmode=WrapMode.CHAR) or [""]
        finally:
            self.c_margin = saved

    def _row_height(self, row: Sequence[str], widths: Sequence[float]) -> float:
        lines = max(len(self._cell_lines(text, w)) for text, w in zip(row, widths))
        return lines * CELL_LINE + 2 * PAD_V

    def _rows_that_fit_a_page(self, rows, widths, heading_height: float) -> list[list[str]]:
        """Rows as given, except that a row taller than a page becomes several rows.

        fpdf2 moves a row that does not fit to the next page but refuses one taller
        than a whole page, and a long task description in the plan easily is. This
        follows fpdf2's placement so the first piece fills the current page rather
        than leaving it blank; two lines of slack absorb any difference in wrapping.
        """
        def lines_in(room: float) -> int:
            return math.floor((room - 2 * PAD_V) / CELL_LINE) - 2

        page_room = self.h - self.b_margin - self.body_top - heading_height
        room = self.h - self.b_margin - self.get_y() - heading_height
        fitted = []
        for row in rows:
            cells = [self._cell_lines(text, w) for text, w in zip(row, widths)]
            tallest = max(len(cell) for cell in cells)
            height = tallest * CELL_LINE + 2 * PAD_V
            if height <= room or height <= page_room:
                fitted.append(row)
                room = room - height if height <= room else page_room - height
                continue
            start = 0
            while start < tallest:
                take = lines_in(room)
                if take < 3:  # a sliver at the foot of a page reads badly; start afresh
                    room, take = page_room, lines_in(page_room)
                # A cell already printed in full says so, so a reader of a later page knows
                # which row the rest belongs to.
                fitted.append(["\n".join(cell[start:start + take]) or ("" if start == 0 else "（续）")
                               for cell in cells])
                room -= min(take, tallest - start) * CELL_LINE + 2 * PAD_V
                start += take
        return fitted

    def table_context(self, **options):
        return super().table(
            wrapmode=WrapMode.CHAR,  # Chinese has no spaces to break at
            line_height=CELL_LINE,
            padding=(PAD_V, PAD_H),
            text_align="LEFT",
            v_align=VAlign.M,
            width=self.epw,
            **options,
        )

    def _bold_multi_cell(self, text: str, height: float, align: str) -> None:
        # The CJK TrueType fonts ship no bold face; stroking the outline thinly is the
        # usual stand-in and keeps the text extractable.
        with self.local_context(text_mode="FILL_STROKE", line_width=0.15):
            self.multi_cell(0, height, text, align=align, wrapmode=WrapMode.CHAR,
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)


CLOSING = set("，。、；：？！）》」』】〉”’,.;:?!)")


def _hang_punctuation(lines: list[str]) -> list[str]:
    # Chinese typesetting never starts a line with closing punctuation; the usual fix is
    # to let it hang into the right margin after the line before (悬挂标点).
    lines = list(lines)
    emptied = set()
    for i in range(1, len(lines)):
        while lines[i] and lines[i][0] in CLOSING and lines[i - 1]:
            lines[i - 1] += lines[i][0]
            lines[i] = lines[i][1:]
            if not lines[i]:
                emptied.add(i)
    # A line that was only punctuation is gone, not a blank line; blank lines the text
    # asked for with "\n\n" stay.
    return [line for i, line in enumerate(lines) if i not in emptied]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def render(document: Document) -> bytes:
    """The document as A4 PDF bytes."""
    pdf = _Pdf(document, find_font())
    pdf.set_title(document.title)
    pdf.set_lang("zh-CN")
    pdf.set_creator("innobase")
    pdf.set_producer("innobase")
    if document.created_at is not None:
        created = document.created_at
        pdf.set_creation_date(created if created.tzinfo else created.replace(tzinfo=timezone.utc))
    pdf.add_page()
    pdf.draw_title(document.title, document.subtitle)
    for block in document.blocks:
        if isinstance(block, Heading):
            pdf.draw_heading(block)
        elif isinstance(block, Paragraph):
            pdf.draw_paragraph(block)
        elif isinstance(block, Table):
            pdf.draw_table(block)
        elif isinstance(block, KeyValues):
            pdf.draw_key_values(block)
        elif isinstance(block, PageBreak):
            pdf.add_page()
        else:
            raise TypeError(f"not a printable block: {block!r}")
    return bytes(pdf.output())
