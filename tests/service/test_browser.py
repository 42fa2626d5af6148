"""The web page in a real browser (Debian's chromium driven by Playwright): sign in,
upload, the partner's proposal approved, a job's report inline, downloads - and the
screenshots of the README (docs/images/)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_data import make_messy
from tests.service.live import Server, create_user, live_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
SLOW = 120_000  # ms: a job on a busy 2-core machine


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str, Path]]:
    data_dir = tmp_path / "service"
    token = create_user(data_dir, "dr.lee")
    table = tmp_path / "clinic_extract.csv"
    make_messy(400).to_csv(table, index=False)
    with live_server(data_dir) as server:
        yield server, token, table


def test_sign_in_upload_partner_report_download(browser: Any, served: Any) -> None:
    server, token, table = served
    page = browser.new_page(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(server.url)

    # sign in: a wrong token is refused, the right one opens the workspace
    page.get_by_label("Access token").fill("hf_wrong")
    page.get_by_role("button", name="Sign in").click()
    sync_api.expect(page.locator("#signin-error")).to_contain_text("not accepted")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    sync_api.expect(page.locator("#who-name")).to_have_text("dr.lee")

    # upload: the profile and the identifier warning
    page.get_by_label("CSV, TSV, Parquet or Excel file").set_input_files(str(table))
    page.get_by_label("Outcome column (optional)").fill("diabetes")
    page.get_by_role("button", name="Upload and profile").click()
    warning = page.get_by_role("alert").filter(has_text="Direct identifiers found")
    sync_api.expect(warning).to_contain_text("ssn")
    sync_api.expect(page.locator("#columns-table tbody tr")).to_have_count(15)
    _accessible(page)
    # the steward reviews the roles: region identifies people here
    page.get_by_label("Role of region").select_option("identifier")
    page.get_by_role("button", name="Save reviewed schema").click()
    sync_api.expect(page.locator("#schema-status")).to_contain_text("Schema saved")
    sync_api.expect(warning).to_contain_text("region")

    # the partner: a proposal, approved with the button; its result offers the file
    page.get_by_role("tab", name="Partner").click()
    page.get_by_label("Message to the partner").fill("generate 300 rows")
    page.get_by_role("button", name="Send").click()
    card = page.get_by_role("group", name="Proposed step a1")
    # the first reply starts the conversation's partner process (imports, the dataset)
    sync_api.expect(card).to_contain_text("generate", timeout=SLOW)
    card.get_by_role("button", name="Approve").click()
    link = page.get_by_role("button", name="Download synthetic.csv")
    link.wait_for(timeout=SLOW)
    with page.expect_download() as caught:
        link.click()
    rows = Path(caught.value.path()).read_text().splitlines()
    assert len(rows) == 301 and "ssn" not in rows[0] and "name" not in rows[0].split(",")
    # choose another: the partner offers alternatives as buttons
    page.get_by_label("Message to the partner").fill("generate 200 rows")
    page.get_by_role("button", name="Send").click()
    second = page.get_by_role("group", name="Proposed step a2")
    second.get_by_role("button", name="Choose another").click()
    sync_api.expect(page.get_by_role("group", name="Choose another step")).to_be_visible()
    page.screenshot(path=str(_image("service-partner.png")))

    # a job with evaluation: progress, then the report inline and the leaderboard
    page.get_by_role("tab", name="Jobs and results").click()
    page.get_by_label("Generator").select_option("gaussian_copula")
    page.get_by_role("button", name="Start job").click()
    page.get_by_role("button", name="View report").wait_for(timeout=SLOW)
    sync_api.expect(page.locator("#leaderboard tbody tr")).to_have_count(1)
    sync_api.expect(page.locator("#leaderboard tbody")).to_contain_text("gaussian_copula")
    page.get_by_role("button", name="View report").click()
    report = page.frame_locator("#report-frame")
    sync_api.expect(report.get_by_text("At a glance")).to_be_visible(timeout=30_000)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download Synthetic data (CSV)").click()
    assert caught.value.suggested_filename.endswith("synthetic.csv")
    # a sandboxed frame is missing from full-page captures: a tall viewport instead
    page.set_viewport_size({"width": 1360, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(_image("service-job.png")))
    page.set_viewport_size({"width": 1360, "height": 900})
    page.get_by_role("tab", name="Profile").click()
    page.screenshot(path=str(_image("service-main.png")))

    assert errors == []
    assert all(url.startswith(server.url) or url.startswith(("blob:", "data:")) for url in requests)


def _accessible(page: Any) -> None:
    """Every form control has a label; the tabs work from the keyboard."""
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden' && !e.closest('[hidden]'))
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.id || e.name)"""
    )
    assert unlabelled == []
    low = page.evaluate(CONTRAST)
    assert low == [], f"text below the WCAG AA contrast ratio: {low[:5]}"
    page.locator("#tab-profile").click()
    page.locator("#tab-profile").press("ArrowRight")
    sync_api.expect(page.locator("#tab-partner")).to_be_focused()
    sync_api.expect(page.locator("#panel-partner")).to_be_visible()
    page.locator("#tab-partner").press("ArrowLeft")
    sync_api.expect(page.locator("#panel-profile")).to_be_visible()


# WCAG 2 contrast of every visible text against its nearest opaque background: 4.5:1, or
# 3:1 for large text (24 px, or 18.66 px bold)
CONTRAST = """() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0.9) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.offsetParent || el.closest('[hidden]')) continue;
    const style = getComputedStyle(el);
    const fg = parse(style.color).slice(0, 3), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < need) low.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${text}"`);
  }
  return low;
}"""


def _image(name: str) -> Path:
    IMAGES.mkdir(parents=True, exist_ok=True)
    return IMAGES / name
