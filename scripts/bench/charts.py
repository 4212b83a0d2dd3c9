#!/usr/bin/env python3
"""Draws the charts of docs/benchmarks.md from its own tables.

A table gets a chart when an HTML comment right before it says so:

    <!-- chart: serve-runs; title: Hooks run end to end; unit: runs/s; rows: 1,4; columns: 1-3 -->

`rows` and `columns` pick data rows and value columns (1-based, after the label column;
default: all). Each picked cell's first number is its value (`1,007 runs/s` is 1007; an
empty cell is left out). With one value column, each row is a bar; with several, each
column is a group of bars, one per row, in the rows' colours.

The chart is written to docs/charts/<name>.svg and shown by an image line right after
the table, which this script adds when it is missing. `--check` changes nothing and exits
1 when a chart or its image line is not what the tables say (CI runs it).

    python3 scripts/bench/charts.py [--check]
"""

import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "benchmarks.md"
CHARTS = ROOT / "docs" / "charts"

MARKER = re.compile(r"^<!-- chart: (.+?) -->\s*$")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
COLOURS = ["#2f6fb0", "#e07b28", "#3a9a5b", "#9b59b6", "#c0392b", "#7f8c8d"]


def picks(spec, count):
    """`1,3-4` → [0, 2, 3]; `None` → every index below `count`."""
    if not spec:
        return list(range(count))
    out = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        out.extend(range(int(lo) - 1, int(hi or lo)))
    bad = [i + 1 for i in out if not 0 <= i < count]
    if bad:
        raise ValueError(f"{bad} beyond the table's {count}")
    return out


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def plain(text):
    """A cell's text without Markdown emphasis and code marks."""
    return re.sub(r"[*`]", "", text).strip()


def value(cell):
    match = NUMBER.search(plain(cell))
    return float(match.group().replace(",", "")) if match else None


def parse_marker(text, where):
    fields = {}
    for i, part in enumerate(text.split(";")):
        key, sep, val = part.partition(":")
        if i == 0 and not sep:
            key, val = "name", part
        elif not sep:
            raise ValueError(f"{where}: `{part.strip()}` is not `key: value`")
        fields[key.strip()] = val.strip()
    if not re.fullmatch(r"[a-z0-9-]+", fields.get("name", "")):
        raise ValueError(f"{where}: a chart needs a name of a-z, 0-9 and -")
    return fields


def svg(title, unit, groups, series):
    """groups: [(label, [value or None per series])]; series: [label]."""
    top = max((v for _, vs in groups for v in vs if v is not None), default=1) or 1
    bar, gap, label_w, width = 18, 14, 230, 760
    plot_w = width - label_w - 110
    multi = len(series) > 1 and len(groups) > 1
    rows = sum(len([v for v in vs if v is not None]) for _, vs in groups)
    legend_h = 18 * len(series) + 4 if multi else 0
    height = 40 + legend_h + rows * bar + len(groups) * gap + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{html.escape(title)}</text>',
    ]
    y = 36
    if multi:
        for i, name in enumerate(series):
            colour = COLOURS[i % len(COLOURS)]
            ly = y + 18 * i
            out.append(f'<rect x="{label_w}" y="{ly}" width="12" height="12" fill="{colour}"/>')
            out.append(f'<text x="{label_w + 16}" y="{ly + 10}">{html.escape(name)}</text>')
        y += legend_h
    for group, values in groups:
        shown = [(i, v) for i, v in enumerate(values) if v is not None]
        if not shown:
            continue
        mid = y + len(shown) * bar / 2
        out.append(
            f'<text x="{label_w - 8}" y="{mid + 4:.0f}" text-anchor="end">{html.escape(group)}</text>'
        )
        for i, v in shown:
            w = max(1.0, plot_w * v / top)
            colour = COLOURS[i % len(COLOURS)]
            out.append(
                f'<rect x="{label_w}" y="{y + 1}" width="{w:.1f}" height="{bar - 2}" fill="{colour}">'
                f"<title>{html.escape(series[i])}: {v:g} {html.escape(unit)}</title></rect>"
            )
            out.append(f'<text x="{label_w + w + 5:.1f}" y="{y + bar - 5}">{v:,.6g} {html.escape(unit)}</text>')
            y += bar
        y += gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def charts(lines):
    """Yields (marker line index, last table line index, name, title, svg text)."""
    for at, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        where = f"docs/benchmarks.md:{at + 1}"
        fields = parse_marker(match.group(1), where)
        start = at + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        end = start
        while end < len(lines) and lines[end].lstrip().startswith("|"):
            end += 1
        table = [cells(l) for l in lines[start:end]]
        if len(table) < 3:
            raise ValueError(f"{where}: no table after the chart comment")
        header, rows = table[0], table[2:]
        try:
            row_at = picks(fields.get("rows"), len(rows))
            col_at = picks(fields.get("columns"), len(header) - 1)
        except ValueError as err:
            raise ValueError(f"{where}: rows/columns {err}") from None
        names = [plain(rows[r][0]) for r in row_at]
        columns = [plain(header[c + 1]) for c in col_at]
        if len(col_at) == 1:
            groups = [(n, [value(rows[r][col_at[0] + 1])]) for n, r in zip(names, row_at)]
            series = columns
        else:
            groups = [(c, [value(rows[r][ci + 1]) for r in row_at]) for c, ci in zip(columns, col_at)]
            series = names
        title = fields.get("title", fields["name"])
        yield at, end - 1, fields["name"], title, svg(title, fields.get("unit", ""), groups, series)


def main():
    check = "--check" in sys.argv[1:]
    lines = PAGE.read_text().split("\n")
    stale = []
    try:
        found = list(charts(lines))
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    for _, last, name, title, text in reversed(found):
        path = CHARTS / f"{name}.svg"
        if not path.exists() or path.read_text() != text:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                CHARTS.mkdir(exist_ok=True)
                path.write_text(text)
        image = f"![{title}](charts/{name}.svg)"
        following = lines[last + 2] if last + 2 < len(lines) else ""
        if following != image:
            stale.append(f"docs/benchmarks.md: the image line after the `{name}` table")
            if not check:
                lines[last + 1 : last + 1] = ["", image]
    if check:
        for s in stale:
            print(f"out of date (run python3 scripts/bench/charts.py): {s}")
        return 1 if stale else 0
    PAGE.write_text("\n".join(lines))
    print(f"{len(found)} charts, {len(stale)} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
