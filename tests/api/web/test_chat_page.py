"""The chat page in headless Chromium (Debian's chromium + chromedriver) against a live server."""

import json
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = ROOT / "artifacts" / "chat-page.png"


def _binary(*names):
    return next((p for n in names if (p := shutil.which(n))), None)


@pytest.fixture(scope="module")
def browser():
    chromium, driver = _binary("chromium", "chromium-browser"), _binary("chromedriver")
    if not (chromium and driver):
        # .ci/run installs them and sets QA_REQUIRE_BROWSER, so CI never skips this.
        if os.environ.get("QA_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,900"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver), options=options)
    yield drv
    drv.quit()


def _ask(browser, question, count):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    box = browser.find_element(By.ID, "q")
    box.send_keys(question, Keys.ENTER)
    done = "#log .msg.assistant:not(.streaming)"
    WebDriverWait(browser, 60).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, done)) >= count)
    return browser.find_elements(By.CSS_SELECTOR, done)[count - 1]


def test_conversation_with_citations_follow_up_and_reload(browser, live_server, real_service):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    feedback_file = real_service.settings.index.feedback_path

    browser.get(live_server + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    # Offline: everything the page loads comes from this server.
    sources = browser.execute_script(
        "return [...document.querySelectorAll('script[src],link[href]')].map(e => e.getAttribute('src') || e.getAttribute('href'))")
    assert sources and all(s.startswith("/") for s in sources)

    first = _ask(browser, "Who is the German chancellor?", 1)
    name = first.find_element(By.CSS_SELECTOR, ".source mark").text
    answer = first.find_element(By.CSS_SELECTOR, ".answer").text
    assert name and answer.startswith(name)
    paragraph = first.find_element(By.CSS_SELECTOR, ".source p").text
    assert name in paragraph and len(paragraph) > len(name)
    assert "paragraph" in first.find_element(By.CSS_SELECTOR, ".source .where").text
    assert browser.switch_to.active_element.get_attribute("id") == "q"  # Enter sent it; the input kept focus

    second = _ask(browser, "Which country was he visiting?", 2)
    assert f"Asked as: Which country was {name} visiting?" in second.text
    assert second.find_elements(By.CSS_SELECTOR, ".source mark")

    # Thumbs up on the first answer lands in the feedback file that qa eval reads as gold.
    first.find_element(By.CSS_SELECTOR, ".feedback .up").click()
    WebDriverWait(browser, 10).until(lambda b: "Thanks" in first.find_element(By.CSS_SELECTOR, ".feedback").text)
    record = json.loads(feedback_file.read_text(encoding="utf-8").splitlines()[-1])
    assert record["verdict"] == "up" and record["answer"] == name and record["question"] == "Who is the German chancellor?"

    # "Wrong" opens a form under the answer (no browser prompt); what is typed there is the gold answer.
    second.find_element(By.CSS_SELECTOR, ".feedback .down").click()
    field = second.find_element(By.CSS_SELECTOR, ".feedback form.correction input[type=text]")
    field.send_keys("Ukraine\n")
    WebDriverWait(browser, 10).until(lambda b: "Thanks" in second.find_element(By.CSS_SELECTOR, ".feedback").text)
    record = json.loads(feedback_file.read_text(encoding="utf-8").splitlines()[-1])
    assert record["verdict"] == "down" and record["correct_answer"] == "Ukraine"

    # While the answer is on its way, a typing indicator shows (not an empty bubble).
    waiting = browser.execute_script(
        "document.getElementById('q').value = 'Who won the 2022 football World Cup?';"
        "document.getElementById('ask').requestSubmit();"
        "return !!document.querySelector('#log .msg.assistant.streaming .typing');")
    assert waiting
    WebDriverWait(browser, 60).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "#log .msg.assistant:not(.streaming)")) >= 3)
    third = browser.find_elements(By.CSS_SELECTOR, "#log .msg.assistant:not(.streaming)")[2]
    assert "no-answer" in third.get_attribute("class") and not third.find_elements(By.CSS_SELECTOR, "mark")

    browser.refresh()
    restored = browser.find_elements(By.CSS_SELECTOR, "#log .msg")
    assert [m.get_attribute("class").split()[1] for m in restored] == ["user", "assistant"] * 3
    assert restored[1].find_element(By.CSS_SELECTOR, ".source mark").text == name

    # Phone width: nothing wider than the screen.
    browser.set_window_size(390, 844)
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT.with_name("chat-page-phone.png")))
    browser.set_window_size(1000, 1100)
    browser.save_screenshot(str(SCREENSHOT))


RECORD_REQUESTS = ("window.sent = []; const f = window.fetch; window.fetch = (url, opts) => "
                   "{ window.sent.push({url: String(url), body: opts && opts.body}); return f(url, opts); };")


def _chat_bodies(browser):
    return [json.loads(r["body"]) for r in browser.execute_script("return window.sent")
            if r["url"].endswith("/v1/chat/completions")]


def test_ask_about_this_article_scopes_the_chat_until_cleared(browser, live_server):
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    assert not browser.find_element(By.ID, "scope").is_displayed()
    browser.execute_script(RECORD_REQUESTS)
    first = _ask(browser, "Who is the Kremlin spokesperson?", 1)
    title = first.find_element(By.CSS_SELECTOR, ".source .where b").text
    first.find_element(By.CSS_SELECTOR, ".source .scope-btn").click()
    bar = browser.find_element(By.ID, "scope")
    assert bar.is_displayed() and browser.find_element(By.ID, "scope-title").text == title
    second = _ask(browser, "Who is the German chancellor?", 2)
    assert second.find_elements(By.CSS_SELECTOR, ".source mark")
    bodies = _chat_bodies(browser)
    assert "filters" not in bodies[0] and len(bodies[1]["filters"]["doc_ids"]) == 1
    # The scope survives a reload with the conversation, and clearing it asks every article again.
    browser.refresh()
    browser.execute_script(RECORD_REQUESTS)
    assert browser.find_element(By.ID, "scope").is_displayed()
    browser.find_element(By.ID, "scope-clear").click()
    assert not browser.find_element(By.ID, "scope").is_displayed()
    _ask(browser, "Who is the Kremlin spokesperson?", 3)
    assert "filters" not in _chat_bodies(browser)[-1]
    # No answer: the closest passage's article can be asked about too.
    missed = _ask(browser, "Who won the 2022 football World Cup?", 4)
    closest = missed.find_element(By.CSS_SELECTOR, ".closest")
    title = closest.find_element(By.CSS_SELECTOR, ".where b").text
    closest.find_element(By.CSS_SELECTOR, ".scope-btn").click()
    assert browser.find_element(By.ID, "scope").is_displayed() and browser.find_element(By.ID, "scope-title").text == title


def test_a_pdf_printed_by_chromium_is_answerable_with_its_page(tmp_path, real_service):
    """A real PDF (chromium's --print-to-pdf of an article) indexed and asked: the answer cites its page."""
    import subprocess

    from fastapi.testclient import TestClient

    from api.app import create_app

    chromium = _binary("chromium", "chromium-browser")
    if not chromium:
        if os.environ.get("QA_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (apt-get install chromium chromium-driver)")
        pytest.skip("chromium not installed (apt-get install chromium chromium-driver)")
    html = tmp_path / "dam.html"
    html.write_text(
        "<html><head><title>Harbour dam opens</title></head><body><h1>Harbour dam opens</h1>"
        "<p>The new harbour dam in Port Ellery was finished in March after four years of construction work.</p>"
        "<p style='page-break-before:always'>The opposition leader, Tomas Brandt, called the project "
        "\"a lesson in how not to build\".</p></body></html>", encoding="utf-8")
    pdf = tmp_path / "dam.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={pdf}",
                    "--no-pdf-header-footer", html.as_uri()], capture_output=True, timeout=120, check=True)
    service = real_service
    with TestClient(create_app(service.settings, loader=lambda _s: service), client=("127.0.0.1", 5000)) as client:
        r = client.post("/v1/documents", files={"file": ("dam.pdf", pdf.read_bytes(), "application/pdf")})
        assert r.status_code == 201, r.text
        doc_id = r.json()["documents"][0]["id"]
        answer = client.post("/v1/ask", json={"question": "Who called the harbour dam project a lesson in how not "
                                                          "to build?"}).json()["answers"][0]
        assert answer["text"] == "Tomas Brandt" and answer["citation"]["page"] == 2
        assert answer["citation"]["doc_id"] == doc_id
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 204  # the shared service as it was


def test_the_date_range_and_source_picker_narrow_the_question(browser, archive_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(archive_server + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    browser.execute_script(RECORD_REQUESTS)
    picker = Select(browser.find_element(By.ID, "source"))
    WebDriverWait(browser, 10).until(lambda b: len(picker.options) == 3)  # all sources, reuters21578, bbc
    assert [o.get_attribute("value") for o in picker.options] == ["", "reuters21578", "bbc"]
    assert browser.find_element(By.ID, "since").get_attribute("min") == "1987-02-26"
    picker.select_by_value("bbc")
    question = "How many bags is the Bahia cocoa crop expected to total?"
    first = _ask(browser, question, 1)
    assert "2.5 million" in first.find_element(By.CSS_SELECTOR, ".answer").text
    assert "bbc · 10 Mar 2005 · paragraph 1" in first.find_element(By.CSS_SELECTOR, ".source .where").text
    assert _chat_bodies(browser)[-1]["filters"] == {"sources": ["bbc"]}
    # A period with nothing from that source: the page says so, not "no confident answer".
    browser.execute_script("document.getElementById('since').value = '1987-01-01';"
                           "document.getElementById('until').value = '1987-12-31'")
    second = _ask(browser, question, 2)
    assert "no documents from bbc published 1987-01-01 to 1987-12-31" in second.text
    browser.find_element(By.ID, "filters-clear").click()
    picker.select_by_value("reuters21578")
    third = _ask(browser, question, 3)
    assert "reuters21578 · 26 Feb 1987" in third.find_element(By.CSS_SELECTOR, ".source .where").text
    assert _chat_bodies(browser)[-1]["filters"] == {"sources": ["reuters21578"]}


def test_the_pages_own_example_and_its_follow_up_are_answered(browser, live_server):
    """The example the empty page suggests: the follow-up is asked in the article's words ("Baerbock", as the
    article calls her after its first mention), and answered."""
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    hint = browser.find_element(By.ID, "empty").text
    assert "Who is Germany's foreign minister?" in hint and "What did she say about weapons?" in hint
    first = _ask(browser, "Who is Germany's foreign minister?", 1)
    assert "Baerbock" in first.find_element(By.CSS_SELECTOR, ".answer").text
    second = _ask(browser, "What did she say about weapons?", 2)
    assert "no-answer" not in second.get_attribute("class")
    assert "Asked as: What did Baerbock say about weapons?" in second.text
    assert "weapons" in second.find_element(By.CSS_SELECTOR, ".source mark").text


def test_a_role_answer_then_she_and_what_else_in_the_page(browser, live_server):
    """Issue 30's own failure: "Who is Baerbock?" is answered with her role, and "What did she offer to send?" was
    asked as "What did Minister offer to send?"; now as "Baerbock", and answered. A bare "What else?" asks the
    previous question again for another answer."""
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    _ask(browser, "Who is Baerbock?", 1)
    second = _ask(browser, "What did she offer to send?", 2)
    assert "Asked as: What did Baerbock offer to send?" in second.text
    assert "no-answer" not in second.get_attribute("class")
    said = second.find_element(By.CSS_SELECTOR, ".answer").text
    third = _ask(browser, "What else?", 3)
    assert "Asked as: What did Baerbock offer to send?" in third.text
    if "no-answer" not in third.get_attribute("class"):
        assert third.find_element(By.CSS_SELECTOR, ".answer").text != said
