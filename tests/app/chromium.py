"""Headless Chromium for report tests: load a page, return its DOM after load, console messages
and a PNG screenshot. Chromium comes from Debian (installed by scripts/test.sh when missing)."""
import os
import re
import shutil
import subprocess
import tempfile


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(html_path, screenshot=None, width=1200, height=2400):
    """Returns (dom, console_lines). Console lines are the page's console messages and errors."""
    exe = find_chromium()
    if not exe:
        raise RuntimeError("chromium not found (scripts/test.sh installs Debian's chromium)")
    url = "file://" + os.path.abspath(html_path)
    profile = tempfile.mkdtemp(prefix="elm-chromium-")
    base = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", f"--window-size={width},{height}"]
    try:
        p = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
        dom = p.stdout
        console = [l for l in p.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
        if screenshot:
            subprocess.run(base + [f"--screenshot={os.path.abspath(screenshot)}",
                                   "--hide-scrollbars", url],
                           capture_output=True, text=True, timeout=120)
        return dom, console
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def charts(dom):
    """[(title, points)] for every <svg class="chart" data-points="N">."""
    out = []
    for m in re.finditer(r'<svg class="chart" data-points="(\d+)"[^>]*>\s*<title>(.*?)</title>', dom, re.S):
        out.append((m.group(2), int(m.group(1))))
    return out
