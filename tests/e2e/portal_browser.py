#!/usr/bin/python3
"""The portal as a user sees it: headless Chromium driven by selenium.

  portal_browser.py HOST PORT CAFILE FQDN USER PASSWORD SCREENSHOT DOWNLOADDIR

Opens https://FQDN:PORT/ with FQDN mapped to HOST inside Chromium (the lab's
name does not resolve) and the lab CA trusted through a throwaway NSS
database (certutil, package libnss3-tools; no certificate errors are
ignored), logs in with USER and PASSWORD, waits for ul.resources, collects
the data-resource names, saves a PNG screenshot of the page to SCREENSHOT,
clicks the first launch link and waits up to 20 s for the .ica file in
DOWNLOADDIR. Prints one line:
    login=ok resources=a,b downloaded=NAME.ica
    login=ok resources=a,b downloaded=none
    login=refused            (the page showed p.error; screenshot saved)
    login=error reason=...
Exit status: 0 the run completed (login=ok with a download, or
login=refused); 1 the portal or the browser did not do what the contract
says; 2 usage or local error (missing certutil, selenium, chromedriver).

Nothing outside is needed: the caller may run it inside a network namespace
(ip netns exec), whose loopback must be up (selenium talks to chromedriver
on 127.0.0.1). Chromium and every temporary directory are removed on exit.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    # Debian's python3-selenium lives in the system interpreter; another
    # python3 earlier in PATH (pyenv) does not see it.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.stderr.write("portal_browser: selenium is not installed "
                     "(python3-selenium)\n")
    sys.exit(2)

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
OVERALL_SECONDS = 150
PAGE_SECONDS = 30
DOWNLOAD_SECONDS = 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Failure(Exception):
    """The portal or the browser broke the contract: exit 1."""


class LocalError(Exception):
    """Missing tools or bad arguments: exit 2."""


def on_signal(signum, frame):
    raise Failure("reason=%s" % ("overall_timeout" if signum == signal.SIGALRM
                                 else "terminated"))


def make_nssdb(home, cafile):
    """$HOME/.pki/nssdb with the lab CA trusted for servers ("C,,")."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise LocalError("certutil not found (package libnss3-tools)")
    if not os.path.isfile(cafile):
        raise LocalError("CA file %s not found" % cafile)
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db, mode=0o700)
    for args in (["-N", "--empty-password"],
                 ["-A", "-n", "hopgate-lab-ca", "-t", "C,,", "-i", cafile]):
        r = subprocess.run([certutil, "-d", "sql:" + db] + args,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30, check=False)
        if r.returncode != 0:
            raise LocalError("certutil %s: %s" % (
                args[0], r.stderr.decode(errors="replace").strip()))


def our_pids(marker):
    """Processes whose command line holds MARKER (our private profile
    directory): the Chromium processes this run started."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def kill_leftovers(marker):
    for _ in range(20):
        pids = our_pids(marker)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)


def check_loopback():
    """selenium reaches chromedriver over 127.0.0.1: fail fast (instead of
    a 30 s wait) in a network namespace whose lo is down."""
    try:
        with socket.socket() as ls:
            ls.bind(("127.0.0.1", 0))
            ls.listen(1)
            with socket.create_connection(ls.getsockname(), timeout=2):
                pass
    except OSError as e:
        raise LocalError("loopback unusable here (ip link set lo up?): %s" %
                         e) from None


def start_driver(tmp, fqdn, host, downloads):
    home = os.path.join(tmp, "home")
    profile = os.path.join(tmp, "profile")
    os.makedirs(profile)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP %s %s" % (fqdn, host),
                "--user-data-dir=" + profile, "--no-first-run",
                "--no-default-browser-check", "--no-proxy-server",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-gpu",
                "--window-size=1280,900"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {
        "download.default_directory": downloads,
        "download.prompt_for_download": False,
        "download.directory_upgrade": True,
        "safebrowsing.enabled": False,
    })
    env = dict(os.environ, HOME=home)
    service = Service(CHROMEDRIVER, env=env,
                      log_path=os.path.join(tmp, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(PAGE_SECONDS)
    # Headless Chromium saves downloads only where it is told to.
    driver.execute_cdp_cmd("Page.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": downloads})
    return driver


def first_present(driver, selectors, seconds):
    """(selector, element) of the first CSS selector that appears."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for sel in selectors:
            found = driver.find_elements(By.CSS_SELECTOR, sel)
            if found:
                return sel, found[0]
        time.sleep(0.1)
    return None, None


def save_screenshot(driver, path):
    if not driver.save_screenshot(path):
        raise Failure("reason=screenshot")
    with open(path, "rb") as f:
        if f.read(8) != PNG_MAGIC:
            raise Failure("reason=screenshot_not_png")


def ica_files(downloads):
    """{name: (mtime, size)} of the .ica files in DOWNLOADDIR (Chromium
    names a download .ica only once it is complete)."""
    out = {}
    for n in os.listdir(downloads):
        if n.endswith(".ica"):
            try:
                st = os.stat(os.path.join(downloads, n))
            except OSError:
                continue
            out[n] = (st.st_mtime_ns, st.st_size)
    return out


def wait_download(downloads, before, seconds):
    """The name of a .ica file that is new or rewritten since BEFORE."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = ica_files(downloads)
        done = sorted(n for n in now if before.get(n) != now[n])
        if done:
            return done[0]
        time.sleep(0.2)
    return None


def run(host, port, cafile, fqdn, user, password, screenshot, downloads,
        tmp):
    check_loopback()
    os.makedirs(os.path.join(tmp, "home"))
    make_nssdb(os.path.join(tmp, "home"), cafile)
    if not os.path.isdir(downloads):
        raise LocalError("download directory %s not found" % downloads)
    driver = None
    try:
        try:
            driver = start_driver(tmp, fqdn, host, downloads)
        except WebDriverException as e:
            raise LocalError("cannot start chromium: %s" %
                             (e.msg or e).strip().splitlines()[0]) from None
        try:
            driver.get("https://%s:%s/" % (fqdn, port))
        except TimeoutException:
            raise Failure("reason=load_timeout") from None
        except WebDriverException as e:
            m = re.search(r"net::ERR_[A-Z_]+", str(e.msg))
            raise Failure("reason=load:%s" % (m.group(0) if m else
                                              "webdriver")) from None
        _, username = first_present(driver, ['input[name="username"]'], 10)
        if username is None:
            # A certificate interstitial or an error page lands here.
            raise Failure("reason=no_login_form title=%s" %
                          driver.title.replace(" ", "_"))
        username.send_keys(user)
        pw = driver.find_element(By.CSS_SELECTOR, 'input[name="password"]')
        pw.send_keys(password)
        form = pw.find_element(By.XPATH, "ancestor::form")
        buttons = form.find_elements(
            By.CSS_SELECTOR, 'button[type="submit"], input[type="submit"], '
            'button:not([type])')
        if buttons:
            buttons[0].click()
        else:
            form.submit()
        sel, _ = first_present(driver, ["ul.resources", "p.error"],
                               PAGE_SECONDS)
        if sel is None:
            raise Failure("reason=no_result_page title=%s" %
                          driver.title.replace(" ", "_"))
        save_screenshot(driver, screenshot)
        if sel == "p.error":
            return "login=refused"
        names = [li.get_attribute("data-resource") for li in
                 driver.find_elements(By.CSS_SELECTOR,
                                      "ul.resources li.resource")]
        links = driver.find_elements(By.CSS_SELECTOR, "ul.resources a.launch")
        line = "login=ok resources=%s" % ",".join(names)
        if not links:
            raise Failure(line + " downloaded=none reason=no_launch_link")
        before = ica_files(downloads)
        links[0].click()
        got = wait_download(downloads, before, DOWNLOAD_SECONDS)
        if got is None:
            raise Failure(line + " downloaded=none")
        return line + " downloaded=" + got
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass
        kill_leftovers(os.path.join(tmp, "profile"))


def main():
    a = sys.argv[1:]
    if len(a) != 8:
        sys.stderr.write(__doc__)
        return 2
    host, port, cafile, fqdn, user, password, screenshot, downloads = a
    cafile = os.path.abspath(cafile)
    screenshot = os.path.abspath(screenshot)
    downloads = os.path.abspath(downloads)
    tmp = tempfile.mkdtemp(prefix="hg-browser-")
    signal.signal(signal.SIGALRM, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.alarm(OVERALL_SECONDS)
    try:
        print(run(host, port, cafile, fqdn, user, password, screenshot,
                  downloads, tmp))
        return 0
    except Failure as e:
        text = str(e)
        print(text if text.startswith("login=") else "login=error " + text)
        return 1
    except LocalError as e:
        sys.stderr.write("portal_browser: %s\n" % e)
        return 2
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
