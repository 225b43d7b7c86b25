#!/usr/bin/env python3
"""bench/chart.py: draws a benchmark's raw results as a PNG with gnuplot.

  bench/chart.py [--header=TEXT | --header-from=FILE] [-o OUT.png] RAW.tsv
  bench/chart.py --audit [--throughput=THR.tsv] [--header...] [-o OUT.png] RAW.tsv

RAW.tsv of bench/run.sh (bench/out/latest.raw.tsv): "cand round metric value
unit" per line. The chart has grouped bars per workload, one bar per column
(native, scopedfs, passthrough_hp, and scopedfs_nopt / scopedfs_policy when
the run had them; with bench/run.sh --transport one per daemon and transport,
named BASE/T such as scopedfs/dev or pthp/uring, the io_uring bar a darker
shade of the daemon's colour), each the median over rounds with a whisker
from the fastest to the slowest round:
  - throughput workloads (seqread, randread, mmapread, seqwrite, metamix
    ops/s) relative to native (native = 1.0; higher is better), native's
    absolute value under the workload's name;
  - latency workloads (open+close, stat, readdir, and metamix's mean
    create+write, rename and unlink) in absolute microseconds on a log scale
    (lower is better);
  - with bench/run.sh --as-app (candidates app_*): a third panel, the media
    app's latencies (open+close, stat, statat, readdir of DCIM/Camera) in
    microseconds, log scale, one bar per app column (native, passthrough_hp,
    scopedfs allow-all, Android default shared mount, the app's view).

--audit: RAW.tsv of bench/audit.sh (bench/out/audit.raw.tsv): "cand metric
value" per line, open+close latency in us; --throughput: its sustained-opens
file (bench/out/audit.throughput.tsv: "mount opens seconds seconds_stored
stored dropped").

The title is the first three lines of --header (bench/run.sh passes its table
header), else of --header-from, else of the .txt next to RAW (latest.raw.tsv
-> latest.txt). Default output: RAW with .png instead of .raw.tsv / .tsv.
Needs gnuplot (Debian: gnuplot-nox); exits 3 with a message if it is missing.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

# metric, label, higher_is_better, scale to the panel's unit
THROUGHPUT_ROWS = [
    ("seqread.median", "seqread 1MiB", 1.0),
    ("randread.median", "randread 4KiB", 1.0),
    ("mmapread.median", "mmapread", 1.0),
    ("seqwrite.buffered", "seqwrite (no fsync)", 1.0),
    ("seqwrite.fsync", "seqwrite + fsync", 1.0),
    ("metamix.ops", "metamix ops/s", 1.0),
]
LATENCY_ROWS = [  # values shown in us
    ("openclose.p50", "open+close p50", 1.0),
    ("openclose.p99", "open+close p99", 1.0),
    ("openclose.mean", "open+close mean", 1.0),
    ("stat.p50", "stat p50", 1.0),
    ("stat.mean", "stat mean", 1.0),
    ("readdir.median", "readdir (one listing)", 1000.0),  # ms -> us
    ("metamix.create.mean", "metamix create+write", 1.0),
    ("metamix.rename.mean", "metamix rename", 1.0),
    ("metamix.unlink.mean", "metamix unlink", 1.0),
]
APP_ROWS = [  # the --as-app section, values shown in us
    ("openclose.p50", "open+close p50", 1.0),
    ("stat.p50", "stat p50 (full path)", 1.0),
    ("statat.p50", "statat p50 (dir fd)", 1.0),
    ("readdir.median", "readdir DCIM/Camera (one listing)", 1000.0),  # ms -> us
]
AUDIT_ROWS = [
    ("openclose.p50", "open+close p50", 1.0),
    ("openclose.mean", "open+close mean", 1.0),
    ("openclose.p99", "open+close p99", 1.0),
]
COLORS = {
    "native": "#8c8c8c",
    "scopedfs": "#1f77b4",
    "passthrough_hp": "#ff7f0e",
    "scopedfs_nopt": "#9ecae1",
    "scopedfs_policy": "#6a3d9a",
    "audit_on": "#1f77b4",
    "audit_off": "#9ecae1",
    "app_native": "#8c8c8c",
    "app_passthrough_hp": "#ff7f0e",
    "app_allow_all": "#1f77b4",
    "app_shared": "#6a3d9a",
    "app_view": "#2ca02c",
}
ORDER = ["native", "scopedfs", "audit_on", "audit_off", "passthrough_hp", "scopedfs_nopt",
         "scopedfs_policy", "app_native", "app_passthrough_hp", "app_allow_all", "app_shared",
         "app_view"]
# bench/run.sh --transport names columns BASE/T (pthp for passthrough_hp).
BASE_ALIASES = {"pthp": "passthrough_hp"}
TRANSPORT_ORDER = ["", "dev", "uring"]


def split_cand(c):
    """(base as in COLORS and ORDER, transport or "")."""
    base, _, t = c.partition("/")
    return BASE_ALIASES.get(base, base), t


def color_of(c):
    base, t = split_cand(c)
    color = COLORS.get(base, "#2ca02c")
    if t == "uring":
        # The same hue, darker: one daemon, the other transport.
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
        color = "#%02x%02x%02x" % tuple(int(x * 0.6) for x in (r, g, b))
    return color


def order_key(c):
    base, t = split_cand(c)
    return (ORDER.index(base) if base in ORDER else len(ORDER),
            TRANSPORT_ORDER.index(t) if t in TRANSPORT_ORDER else len(TRANSPORT_ORDER), c)


# Legend titles (default: the candidate's name).
TITLES = {
    "app_native": "native",
    "app_passthrough_hp": "passthrough_hp",
    "app_allow_all": "allow-all",
    "app_shared": "default policy: shared",
    "app_view": "default policy: app view",
}


def fmt(v):
    if v >= 1000:
        return f"{v:.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if v >= 1 else f"{v:.3g}"


def gp_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def read_raw(path):
    """(cand, metric) -> list of values; metric -> unit; candidates in order."""
    vals, units, cands = {}, {}, []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 5:      # run.sh: cand round metric value unit
                c, _, m, v, u = parts
            elif len(parts) == 3:    # audit.sh: cand metric value (us)
                (c, m, v), u = parts, "us"
            else:
                continue
            try:
                value = float(v)
            except ValueError:
                continue
            vals.setdefault((c, m), []).append(value)
            units[m] = u
            if c not in cands:
                cands.append(c)
    cands.sort(key=order_key)
    return vals, units, cands


class Panel:
    def __init__(self, title, ylabel, log=False, ref_line=None, single=False, key=False):
        self.title, self.ylabel, self.log, self.ref_line = title, ylabel, log, ref_line
        self.single = single  # One value per bar: no whiskers.
        self.key = key  # A legend of its own (the first panel always has one).
        self.groups = []  # (label, {cand: (value, lo, hi, text)})

    def add(self, label, bars):
        if bars:
            self.groups.append((label, bars))


def run_panels(vals, units, cands, app_title=""):
    app_cands = [c for c in cands if c.startswith("app_")]
    cands = [c for c in cands if not c.startswith("app_")]
    panels = []
    thr = Panel("Throughput relative to native (higher is better)",
                "x native", ref_line=1.0)
    for m, label, _ in THROUGHPUT_ROWS:
        if ("native", m) not in vals:
            continue
        base = statistics.median(vals[("native", m)])
        if not base:
            continue
        bars = {}
        for c in cands:
            v = vals.get((c, m))
            if v:
                med = statistics.median(v) / base
                bars[c] = (med, min(v) / base, max(v) / base, f"{med:.2f}")
        unit = units.get(m, "")
        thr.add(f"{label}\nnative {fmt(base)} {unit}", bars)
    if thr.groups:
        panels.append(thr)
    lat = Panel("Latency in µs (lower is better; log scale)",
                "µs", log=True)
    for m, label, scale in LATENCY_ROWS:
        bars = {}
        for c in cands:
            v = vals.get((c, m))
            if v:
                v = [x * scale for x in v]
                med = statistics.median(v)
                bars[c] = (med, min(v), max(v), fmt(med))
        lat.add(label, bars)
    if lat.groups:
        panels.append(lat)
    app = Panel("As a media app" + (f" ({app_title})" if app_title else "")
                + ": latency in µs (lower is better; log scale)"
                + ("" if "app_view" in app_cands else "\napp view: n/a (no .apps view)"),
                "µs", log=True,
                key=bool(panels))
    for m, label, scale in APP_ROWS:
        bars = {}
        for c in app_cands:
            v = vals.get((c, m))
            if v:
                v = [x * scale for x in v]
                med = statistics.median(v)
                bars[c] = (med, min(v), max(v), fmt(med))
        app.add(label, bars)
    if app.groups:
        panels.append(app)
    return panels


def audit_panels(vals, cands, throughput):
    panels = []
    lat = Panel("open+close latency in µs, single-threaded "
                "(lower is better; log scale)", "µs", log=True)
    for m, label, _ in AUDIT_ROWS:
        bars = {}
        for c in cands:
            v = vals.get((c, m))
            if v:
                med = statistics.median(v)
                bars[c] = (med, min(v), max(v), fmt(med))
        lat.add(label, bars)
    if lat.groups:
        panels.append(lat)
    if throughput and os.path.exists(throughput):
        opens, audited = {}, {}
        with open(throughput) as f:
            for line in f:
                p = line.split()
                if len(p) < 6:
                    continue
                c, n, secs, secs_stored, stored = p[0], int(p[1]), float(p[2]), float(p[3]), int(p[4])
                if secs > 0:
                    opens[c] = n / secs / 1000
                if secs_stored > 0:
                    audited[c] = stored / secs_stored / 1000
        thr = Panel("Sustained open+close with parallel clients, thousands per second "
                    "(higher is better)", "k/s", single=True)
        thr.add("open+close/s", {c: (v, v, v, f"{v:.1f}k") for c, v in opens.items()})
        thr.add("audit events stored/s", {c: (v, v, v, f"{v:.1f}k")
                                          for c, v in audited.items() if v > 0})
        if thr.groups:
            panels.append(thr)
    return panels


def gnuplot_script(panels, cands, title, out, width, height):
    s = []
    s.append(f"set terminal pngcairo size {width},{height} noenhanced font 'DejaVu Sans,10' "
             "background rgb 'white'")
    s.append(f"set output {gp_quote(out)}")
    s.append("set style fill solid 0.9 border rgb '#404040'")
    s.append("set grid ytics lc rgb '#dddddd' lt 1")
    s.append("set border 3; set xtics nomirror scale 0; set ytics nomirror")
    s.append("set key outside top center horizontal samplen 2 font ',10'")
    s.append("set tmargin 5")
    s.append(f"set multiplot layout {len(panels)},1 title {gp_quote(title)} font ',12'")
    for k, p in enumerate(panels):
        if p.key:
            s.append("set key outside top center horizontal samplen 2 font ',10'")
        elif k > 0:
            s.append("unset key")
        title = p.title
        if k == 0 and not p.single:
            title += "\nbars: median over rounds; whiskers: best to worst round"
        used = [c for c in cands if any(c in bars for _, bars in p.groups)]
        n = max(1, len(used))
        width_bar = 0.8 / n
        s.append("unset logscale y; unset arrow")
        s.append(f"set title {gp_quote(title)} font ',11'")
        s.append(f"set ylabel {gp_quote(p.ylabel)}")
        s.append(f"set boxwidth {width_bar * 0.95}")
        s.append(f"set xrange [-0.6:{len(p.groups) - 0.4}]")
        tics = ", ".join(f"{gp_quote(label)} {g}" for g, (label, _) in enumerate(p.groups))
        s.append(f"set xtics ({tics})")
        his = [b[2] for _, bars in p.groups for b in bars.values()]
        los = [b[0] for _, bars in p.groups for b in bars.values() if b[0] > 0]
        if p.log:
            lo = min(los) if los else 1
            hi = max(his) if his else 10
            s.append("set logscale y 10")
            s.append(f"set yrange [{lo / 2.5}:{hi * 4}]")
            s.append("set format y '%g'")
        else:
            hi = max(his + [p.ref_line or 0]) if his else 1
            s.append(f"set yrange [0:{hi * 1.22}]")
            s.append("set format y '%g'")
        if p.ref_line is not None:
            s.append(f"set arrow from graph 0, first {p.ref_line} to graph 1, first "
                     f"{p.ref_line} nohead dt 2 lc rgb '#555555' front")
        plots, data = [], []
        for i, c in enumerate(used):
            rows = []
            for g, (_, bars) in enumerate(p.groups):
                if c in bars:
                    v, lo, hi, text = bars[c]
                    x = g - 0.4 + width_bar * (i + 0.5)
                    rows.append(f"{x} {v} {lo} {hi} {gp_quote(text)}")
            block = f"$d{len(data)}"
            data.append(f"{block} << EOD\n" + "\n".join(rows) + "\nEOD")
            color = color_of(c)
            plots.append(f"{block} using 1:2 with boxes lc rgb '{color}' "
                         f"title {gp_quote(TITLES.get(c, c))}")
            # Whiskers from the best to the worst round (none with one round).
            plots.append(f"{block} using 1:3:(0):($4-$3) with vectors nohead lw 1.2 "
                         "lc rgb '#303030' notitle")
            offset = "*1.12" if p.log else f"+{hi * 0.02}"
            plots.append(f"{block} using 1:($4{offset}):5 with labels rotate by 90 left "
                         "font ',8' notitle")
        s.extend(data)
        s.append("plot " + ", \\\n     ".join(plots))
    s.append("unset multiplot")
    return "\n".join(s) + "\n"


def main():
    ap = argparse.ArgumentParser(description="Draw benchmark results as a PNG (gnuplot).")
    ap.add_argument("raw")
    ap.add_argument("-o", "--output")
    ap.add_argument("--header", help="table header; its first two lines become the title")
    ap.add_argument("--header-from", help="file whose first two lines become the title")
    ap.add_argument("--audit", action="store_true", help="RAW is bench/audit.sh's")
    ap.add_argument("--throughput", help="bench/audit.sh's sustained-opens file")
    ap.add_argument("--size", default="1400,1000", help="W,H in pixels [1400,1000]")
    args = ap.parse_args()

    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        print("chart.py: gnuplot not found (apt-get install gnuplot-nox); no chart",
              file=sys.stderr)
        return 3
    raw = args.raw
    out = args.output
    if not out:
        base = raw[:-len(".raw.tsv")] if raw.endswith(".raw.tsv") else os.path.splitext(raw)[0]
        out = base + ".png"
    header = args.header
    if header is None:
        hf = args.header_from
        if hf is None:
            base = raw[:-len(".raw.tsv")] if raw.endswith(".raw.tsv") else os.path.splitext(raw)[0]
            hf = base + ".txt"
        if os.path.exists(hf):
            with open(hf) as f:
                header = f.read()
    title_lines = [l.strip() for l in (header or "").splitlines() if l.strip()][:3]
    if not title_lines:
        title_lines = ["scopedfs benchmark"]
    # A long line is cut at its last ';' that fits; the third only if it is the
    # load average (bench/run.sh's header).
    if len(title_lines) == 3 and not title_lines[2].startswith("load average"):
        title_lines = title_lines[:2]
    title = "\n".join(l if len(l) < 140 else l[:l.rfind(";", 0, 140)] for l in title_lines)

    # bench/run.sh --as-app's header names the app: "app section: uid U ...".
    app_title = next((l.split(":", 1)[1].split(" over ")[0].strip()
                      for l in (header or "").splitlines() if l.startswith("app section:")), "")
    vals, units, cands = read_raw(raw)
    panels = audit_panels(vals, cands, args.throughput) if args.audit else \
        run_panels(vals, units, cands, app_title)
    if not panels:
        print(f"chart.py: no results in {raw}; no chart", file=sys.stderr)
        return 1
    width, height = (int(x) for x in args.size.split(","))
    if len(panels) == 1:
        height = height * 6 // 10
    elif len(panels) > 2:
        height = height * len(panels) // 2
    script = gnuplot_script(panels, cands, title, out, width, height)
    if os.environ.get("CHART_DEBUG"):
        sys.stderr.write(script)
    r = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        print("chart.py: gnuplot failed; no chart", file=sys.stderr)
        return 1
    print(f"chart.py: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
