"""The web flows in a real browser: Debian's headless Chromium driven by selenium, against the
app served by werkzeug in a thread on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from registry.db import session_factory
from registry.models import Submission
from tests.webapp import factories as fx
from tests.webapp.conftest import make_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = os.environ.get("BABALE_SCREENSHOTS")  # a folder to keep screenshots in, if set

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="chromium and chromedriver are not installed (apt-get install chromium "
        "chromium-driver, or BABALE_SETUP_BROWSER=1 scripts/setup)",
    ),
]


@pytest.fixture
def live(sqlite_url, tmp_path) -> Iterator[tuple[str, str]]:
    app = make_app(sqlite_url, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", sqlite_url
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--lang=id"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def click(browser, element) -> None:
    """Click something that loads a new page, and wait until the old page is gone."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def old_page_gone(_driver: object) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            # Mid-navigation ChromeDriver sometimes says this instead of "stale".
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    WebDriverWait(browser, 15).until(old_page_gone)


def shot(browser, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def test_log_in_filter_open_approve(live, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, url = live
    with session_factory(url)() as db:
        fx.make_user(db, "dinsos", username="reviewer")
        target = fx.make_submission(db, fx.DESA_A, nama="Maria Ulfa", nik="6107014101900007",
                                    members=[{"nama": "Yosef", "nik": "6107010101150008",
                                              "kategori": "anak_telantar"}])  # fmt: skip
        fx.make_submission(db, fx.DESA_B, nama="Andreas Bun")
        fx.make_submission(db, fx.DESA_A, form="psks", nama="Kelompok Tani",
                           kategori="pekerja_sosial_masyarakat")  # fmt: skip
        db.commit()
        target_id = target.id

    browser.get(base + "/pengajuan/")
    assert "/masuk" in browser.current_url  # not logged in yet
    shot(browser, "01-login")
    browser.find_element(By.NAME, "username").send_keys("reviewer")
    browser.find_element(By.NAME, "password").send_keys(fx.PASSWORD)
    click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert browser.current_url.endswith("/pengajuan/")  # back where we wanted to go
    rows = browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    assert len(rows) == 3

    Select(browser.find_element(By.NAME, "kecamatan")).select_by_value(fx.KEC_A)
    Select(browser.find_element(By.NAME, "form")).select_by_value("ppks")
    click(browser, browser.find_element(By.CSS_SELECTOR, "#filter button[type=submit]"))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "td a").text for r in rows] == ["Maria Ulfa"]
    assert "6107********0007" in rows[0].text and "6107014101900007" not in rows[0].text
    shot(browser, "02-list")

    click(browser, rows[0].find_element(By.LINK_TEXT, "Maria Ulfa"))
    assert browser.current_url.endswith(f"/pengajuan/{target_id}")
    assert "6107014101900007" in browser.page_source
    assert browser.find_element(By.CSS_SELECTOR, ".titlerow .badge").text == "Baru"
    shot(browser, "03-detail")

    click(browser, browser.find_element(By.CSS_SELECTOR, "button[name=status][value=disetujui]"))
    assert browser.find_element(By.CSS_SELECTOR, ".titlerow .badge").text == "Disetujui"
    assert "Status diubah menjadi Disetujui" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    history = browser.find_element(By.CSS_SELECTOR, ".history").text
    assert "Baru" in history and "Disetujui" in history
    shot(browser, "04-approved")
    with session_factory(url)() as db:
        assert db.get(Submission, target_id).status == "disetujui"

    browser.get(base + "/")
    shot(browser, "05-dashboard")
    tile = browser.find_element(By.CSS_SELECTOR, ".tile-disetujui .tile-n")
    assert tile.text == "1"


def test_returning_needs_a_note_in_the_browser(live, browser):
    from selenium.webdriver.common.by import By

    base, url = live
    with session_factory(url)() as db:
        fx.make_user(db, "admin", username="adm")
        sub_id = fx.make_submission(db).id
        db.commit()
    browser.get(base + "/masuk")
    browser.find_element(By.NAME, "username").send_keys("adm")
    browser.find_element(By.NAME, "password").send_keys(fx.PASSWORD)
    click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    browser.get(f"{base}/pengajuan/{sub_id}")
    click(browser, browser.find_element(By.CSS_SELECTOR, "button[name=status][value=dikembalikan]"))
    assert "Catatan wajib diisi" in browser.find_element(By.CSS_SELECTOR, ".flash-error").text
    browser.find_element(By.NAME, "catatan").send_keys("Foto KK tidak terbaca")
    click(browser, browser.find_element(By.CSS_SELECTOR, "button[name=status][value=dikembalikan]"))
    assert browser.find_element(By.CSS_SELECTOR, ".titlerow .badge").text == "Dikembalikan"
    assert "Foto KK tidak terbaca" in browser.find_element(By.CSS_SELECTOR, ".history").text
    browser.get(base + "/pengguna/")
    shot(browser, "06-users")


@pytest.mark.parametrize("width", [1280, 1024, 390])
def test_filter_buttons_stay_inside_their_card(live, browser, width):
    from selenium.webdriver.common.by import By

    base, url = live
    with session_factory(url)() as db:
        fx.make_user(db, "dinsos", username="rev")
        fx.make_submission(db)
        db.commit()
    browser.set_window_size(width, 900)
    browser.get(base + "/masuk?next=/pengajuan/")
    browser.find_element(By.NAME, "username").send_keys("rev")
    browser.find_element(By.NAME, "password").send_keys(fx.PASSWORD)
    click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert browser.current_url.endswith("/pengajuan/")
    shot(browser, f"07-filters-{width}")
    # One script reads every box at once, from the page as it is laid out now.
    card_right, buttons = browser.execute_script(
        "const card = document.getElementById('filter').getBoundingClientRect();"
        "const items = document.querySelectorAll('#filter .filter-actions > *');"
        "return [card.right, Array.from(items, b => [b.textContent.trim(),"
        " b.getBoundingClientRect().right])];"
    )
    assert len(buttons) == 2
    for text, right in buttons:
        assert right <= card_right, (width, text, right, card_right)


def test_pages_load_without_console_errors(live, browser):
    """Every page of every role loads its own files (CSS, JS, map, icon) without a failure."""
    from selenium.webdriver.common.by import By

    base, url = live
    with session_factory(url)() as db:
        for role in ("admin", "kecamatan", "desa", "pimpinan"):
            fx.make_user(db, role, username=f"c_{role}")
        sub_id = fx.make_submission(db).id
        db.commit()
    pages = {
        "admin": [
            "/",
            "/pengajuan/",
            f"/pengajuan/{sub_id}",
            "/pengguna/",
            "/akun/kata-sandi",
            "/duplikat/",
        ],
        "kecamatan": ["/", "/pengajuan/", f"/pengajuan/{sub_id}"],
        "desa": ["/", "/pengajuan/", f"/pengajuan/{sub_id}"],
        "pimpinan": ["/"],
    }
    for role, urls in pages.items():
        browser.delete_all_cookies()
        browser.get(base + "/masuk")
        browser.find_element(By.NAME, "username").send_keys(f"c_{role}")
        browser.find_element(By.NAME, "password").send_keys(fx.PASSWORD)
        click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
        for path in urls:
            browser.get(base + path)
            errors = [
                e["message"]
                for e in browser.get_log("browser")
                if e["level"] == "SEVERE" and base in e["message"]
            ]
            assert errors == [], (role, path)


@pytest.mark.parametrize("width", [1280, 412])
def test_deciding_a_duplicate_group(live, browser, width):
    """A dinsos reviewer opens the queue from the nav, compares a group, decides `sama` with a
    note and finds it under the `sama` tab; at 412 px the members stack instead of overflowing."""
    from selenium.webdriver.common.by import By

    from tests.registry.adjudication_factories import make_group

    base, url = live
    with session_factory(url)() as db:
        fx.make_user(db, "dinsos", username="peninjau")
        member = [{"nama": "Veronika", "nik": "6107015205800003"}]
        a = fx.make_submission(db, fx.DESA_A, members=member)
        b = fx.make_submission(db, fx.DESA_B, members=member)
        group_id = make_group(db, [(a, 2), (b, 2)]).id
        db.commit()
    browser.set_window_size(width, 900)
    browser.get(base + "/masuk")
    browser.find_element(By.NAME, "username").send_keys("peninjau")
    browser.find_element(By.NAME, "password").send_keys(fx.PASSWORD)
    click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))

    nav = browser.find_element(By.PARTIAL_LINK_TEXT, "Data ganda")
    assert nav.find_element(By.CSS_SELECTOR, ".nav-count").text == "1"
    click(browser, nav)
    group = browser.find_element(By.ID, f"kelompok-{group_id}")
    members = group.find_elements(By.CSS_SELECTOR, ".member")
    assert len(members) == 2 and "6107********0003" in group.text
    lefts, tops, overflow = browser.execute_script(
        "const ms = Array.from(arguments[0].querySelectorAll('.member'));"
        "return [ms.map(m => m.getBoundingClientRect().left),"
        " ms.map(m => m.getBoundingClientRect().top),"
        " document.documentElement.scrollWidth > window.innerWidth];",
        group,
    )
    assert not overflow
    if width < 500:
        assert lefts[0] == lefts[1] and tops[1] > tops[0]  # stacked
    else:
        assert tops[0] == tops[1] and lefts[1] > lefts[0]  # side by side
    shot(browser, f"08-duplicates-{width}")

    click(browser, group.find_element(By.CSS_SELECTOR, "h2 a"))
    assert browser.current_url.endswith(f"/duplikat/{group_id}")
    browser.find_element(By.NAME, "catatan").send_keys("KTP dicek di Dukcapil")
    click(browser, browser.find_element(By.CSS_SELECTOR, "button[name=keputusan][value=sama]"))
    flash = browser.find_element(By.CSS_SELECTOR, ".flash-success").text
    assert f"Kelompok #{group_id} diputuskan: Orang yang sama" in flash
    assert not browser.find_elements(By.ID, f"kelompok-{group_id}")  # no longer open

    click(browser, browser.find_element(By.CSS_SELECTOR, ".chips a.chip-sama"))
    decided = browser.find_element(By.ID, f"kelompok-{group_id}")
    assert decided.find_element(By.CSS_SELECTOR, ".badge-sama").text == "Orang yang sama"
    assert "Orang yang sama 1" in browser.find_element(By.CSS_SELECTOR, ".chips").text
    shot(browser, f"09-duplicates-sama-{width}")


def test_a_blocked_approval_then_an_override_with_a_note_then_approval(live, browser):
    from selenium.webdriver.common.by import By

    from surveys import paths as f
    from tests.registry.factories import ppks_payload, store

    base, url = live
    payload = ppks_payload(7101, kode_desa=fx.DESA_A)
    payload[f.ANGGOTA][1][f.NIK] = "1111111111111111"  # a fake NIK: blokir
    with session_factory(url)() as db:
        fx.make_user(db, "dinsos", username="reviewer")
        sub_id = store(db, "ppks", payload).id
        db.commit()
    browser.get(base + "/masuk")
    browser.find_element(By.NAME, "username").send_keys("reviewer")
    browser.find_element(By.NAME, "password").send_keys(fx.PASSWORD)
    click(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))

    browser.get(f"{base}/pengajuan/?tanda=blokir")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    assert len(rows) == 1
    browser.get(f"{base}/pengajuan/{sub_id}")
    flag = browser.find_element(By.CSS_SELECTOR, "li.flag-blokir")
    assert "Anggota ke-2 (Maria Anyeng)" in flag.text and "1111111111111111" not in flag.text
    click(browser, browser.find_element(By.CSS_SELECTOR, "button[name=status][value=disetujui]"))
    assert "blokir" in browser.find_element(By.CSS_SELECTOR, ".flash-error").text.lower()
    assert browser.find_element(By.CSS_SELECTOR, ".titlerow .badge").text == "Baru"
    shot(browser, "07-blocked")

    flag = browser.find_element(By.CSS_SELECTOR, "li.flag-blokir")
    flag.find_element(By.CSS_SELECTOR, "details.override summary").click()
    flag.find_element(By.NAME, "catatan").send_keys("KTP asli dicek di kantor desa")
    click(browser, flag.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    overridden = browser.find_element(By.CSS_SELECTOR, "li.flag-overridden")
    assert "KTP asli dicek di kantor desa" in overridden.text
    click(browser, browser.find_element(By.CSS_SELECTOR, "button[name=status][value=disetujui]"))
    assert browser.find_element(By.CSS_SELECTOR, ".titlerow .badge").text == "Disetujui"
    history = browser.find_element(By.CSS_SELECTOR, ".history").text
    assert "mengabaikan tanda blokir" in history and "nik_palsu" in history
    shot(browser, "08-overridden-approved")
