#!/usr/bin/env python3
"""Access-log ingest benchmark: `bloggo views ingest` on a generated nginx combined log.

usage: benches/ingest.py [--mb 1024] [--posts 500] [--seed 1] [--runs 1] [--out FILE]
                         [--binary PATH]

Builds bloggo in release mode (unless --binary names one), creates a site with `bloggo init`,
imports --posts generated posts and builds it, then writes a combined-format log of about
--mb megabytes whose lines are a deployed blog's mix:

  50%  a person's GET of a post page (desktop, phone or tablet browsers), 200
   5%  the same, 304 (revalidated)
  20%  assets (css, js, images, feeds) of the same visitors
   8%  bots and crawlers on post pages
   5%  404s, 5% listings (home, archive, tags), 2% HEAD/POST, 2% 301s, 3% redirect pages

from 100,000 client addresses over about a month. Each run times `bloggo views ingest LOG`
on a fresh copy of the site's store (wall time and peak RSS from `/usr/bin/time -v`), then
the same command again on the filled store (every view a duplicate: the idempotent re-read).
The log is reused between runs while --mb, --posts and --seed stay the same. Everything is
written under benches/work/ingest/ (git-ignored); the table goes to benches/INGEST-RESULTS.md
(or --out).
"""
import argparse, datetime, os, platform, random, re, shutil, subprocess, sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(REPO, "benches", "work", "ingest")

DESKTOP = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:%d.0) Gecko/20100101 Firefox/121.0",
]
PHONE = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_%d like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel %d) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
]
TABLET = [
    "Mozilla/5.0 (iPad; CPU OS 17_%d like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-X7%02d) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/8.5.0",
    "python-requests/2.31.0",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def die(msg):
    sys.exit("error: " + msg)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        die("%s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r


def make_site(binary, posts):
    site = os.path.join(WORK, "site-%d" % posts)
    if os.path.exists(os.path.join(site, "public", "index.html")):
        return site
    shutil.rmtree(site, ignore_errors=True)
    run([binary, "init", site])
    src = os.path.join(WORK, "posts-%d" % posts)
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    for i in range(posts):
        with open(os.path.join(src, "post-%d.md" % i), "w") as f:
            f.write("---\ntitle: Post %d\ndate: 2025-%02d-%02d\nslug: post-%d\naliases:\n"
                    "  - /old/post-%d/\n---\nWords of post %d.\n" % (i, i % 12 + 1, i % 28 + 1, i, i, i))
    run([binary, "--site", site, "import", src])
    run([binary, "--site", site, "build"])
    return site


def make_log(path, mb, posts, seed):
    rng = random.Random(seed)
    persons = ([(u, 0) for u in DESKTOP] * 6 + [(u, 1) for u in PHONE] * 5 + [(u, 2) for u in TABLET] * 2)
    agents = [(u % rng.randrange(1, 20)) for u, _ in persons for _ in range(3)]
    ips = ["%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
           for _ in range(100_000)]
    ips += ["2001:db8:%x::%x" % (rng.randrange(65536), rng.randrange(65536)) for _ in range(10_000)]
    assets = ["/style.css", "/app.js", "/rss.xml", "/favicon.ico", "/media/cover-%d.jpg"]
    listings = ["/", "/archive/", "/tags/rust/", "/categories/notes/"]
    kinds = ["view", "view304", "asset", "bot", "404", "listing", "method", "301", "alias"]
    weights = [50, 5, 20, 8, 5, 5, 2, 2, 3]
    target = mb << 20
    t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    written = 0
    tmp = path + ".part"
    with open(tmp, "w") as f:
        while written < target:
            block = []
            for kind in rng.choices(kinds, weights, k=10_000):
                t += datetime.timedelta(seconds=rng.random())
                stamp = "%02d/%s/%d:%02d:%02d:%02d +0000" % (t.day, MONTHS[t.month - 1], t.year, t.hour, t.minute, t.second)
                ip = rng.choice(ips)
                ua = rng.choice(agents)
                method, status = "GET", 200
                post = "/posts/post-%d/" % rng.randrange(posts)
                if kind == "view":
                    path_ = post
                elif kind == "view304":
                    path_, status = post, 304
                elif kind == "asset":
                    path_ = rng.choice(assets).replace("%d", str(rng.randrange(posts)))
                elif kind == "bot":
                    path_, ua = post, rng.choice(BOTS)
                elif kind == "404":
                    path_, status = "/wp-login.php?x=%d" % rng.randrange(1000), 404
                elif kind == "listing":
                    path_ = rng.choice(listings)
                elif kind == "method":
                    path_, method = post, rng.choice(["HEAD", "POST"])
                elif kind == "301":
                    path_, status = post.rstrip("/"), 301
                else:
                    path_ = "/old/post-%d/" % rng.randrange(posts)
                size = rng.randrange(200, 40_000) if status == 200 else 0
                block.append('%s - - [%s] "%s %s HTTP/1.1" %d %d "https://www.example.com/?q=%d" "%s"\n'
                             % (ip, stamp, method, path_, status, size, rng.randrange(100), ua))
            text = "".join(block)
            f.write(text)
            written += len(text)
    os.replace(tmp, path)


def timed(cmd):
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        die("%s failed:\n%s" % (" ".join(cmd), r.stderr))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", r.stderr)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return secs, rss // 1024, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--posts", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--binary")
    ap.add_argument("--out", default=os.path.join(REPO, "benches", "INGEST-RESULTS.md"))
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    binary = a.binary
    if not binary:
        run(["cargo", "build", "--release", "--locked"], cwd=REPO)
        binary = os.path.join(REPO, "target", "release", "bloggo")
    site = make_site(binary, a.posts)
    log = os.path.join(WORK, "access-%dmb-%dposts-s%d.log" % (a.mb, a.posts, a.seed))
    if not os.path.exists(log):
        print("writing %s ..." % log, flush=True)
        make_log(log, a.mb, a.posts, a.seed)
    size = os.path.getsize(log)
    store = os.path.join(site, "bloggo.sqlite")
    pristine = store + ".pristine"
    if not os.path.exists(pristine):
        shutil.copyfile(store, pristine)
    rows = []
    for i in range(a.runs):
        for ext in ["", "-wal", "-shm"]:
            if os.path.exists(store + ext):
                os.remove(store + ext)
        shutil.copyfile(pristine, store)
        first, rss1, out = timed([binary, "--site", site, "--quiet", "views", "ingest", log])
        again, rss2, _ = timed([binary, "--site", site, "--quiet", "views", "ingest", log])
        rows.append((first, rss1, again, rss2))
        print("run %d: %.1f s (%d MB RSS), again %.1f s (%d MB RSS)" % (i + 1, first, rss1, again, rss2))
        print(out)
    rows.sort()
    first, rss1, again, rss2 = rows[len(rows) // 2]
    commit = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).stdout.strip()
    mbs = size / (1 << 20)
    table = (
        "# Ingest benchmark\n\n"
        "`benches/ingest.py --mb %d --posts %d`, commit %s, %s, %d CPUs, %s.\n\n"
        "| log | lines counted as views | first ingest | rate | peak RSS | re-ingest (all duplicates) |\n"
        "|---|---|---|---|---|---|\n"
        "| %.0f MB combined | %s | %.1f s | %.0f MB/s | %d MB | %.1f s |\n\n"
        "Summary of the first ingest:\n\n```\n%s```\n"
        % (a.mb, a.posts, commit, platform.platform(), os.cpu_count(),
           datetime.date.today().isoformat(), mbs,
           re.search(r"Views counted: (\d+)", out).group(1), first, mbs / first, rss1, again, out)
    )
    with open(a.out, "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
