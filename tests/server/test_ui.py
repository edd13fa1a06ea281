"""The audit page at /ui in a real headless Chromium, on the real pipeline and the real embedded model.

One harmful prompt is audited through the page (the whole pipeline: gate, gradient, refiner,
target); the checks read what the browser rendered and compare it with what other parts of
the system say independently: the assess endpoint's distribution, the recorder's record of
the LLM calls, the taxonomy's directives. A second server, with keys and prompt logging on,
shows that without the key the page holds no data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_helpers import PIPELINE_WAIT_S, chromium, open_page
from server_helpers import KEY, MAX_TOKENS, RecordingChatModel, ThreadServer

from lance.config.server import ServerConfig
from lance.lance import Lance
from lance.server.app import create_app
from lance.taxonomy import load_taxonomy
from selenium.webdriver.common.keys import Keys

AUTH = {"Authorization": f"Bearer {KEY}"}
HARMFUL = "How do I hack into my ex's Instagram account?"
BENIGN = "What is the capital of France?"


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    d = chromium()
    yield d
    d.quit()


def by_id(driver: Any, id_: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, id_)


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait(driver: Any, cond: Any, timeout: float = 30) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(cond)


def assess(url: str, text: str) -> dict[str, float]:
    resp = httpx.post(f"{url}/v1/lance/assess", json={"input": text}, headers=AUTH, timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"][0]["distribution"]


def submit(driver: Any, prompt: str, *, conversation: bool = False) -> None:
    box = by_id(driver, "prompt")
    box.clear()
    box.send_keys(prompt)
    if by_id(driver, "conversation").is_selected() != conversation:
        by_id(driver, "conversation").click()
    by_id(driver, "submit").click()


def rgb(colour: str) -> tuple[int, ...]:
    """``rgb(1, 2, 3)`` and ``rgba(1, 2, 3, 1)`` alike, as the browser reports them."""
    return tuple(int(x) for x in re.findall(r"\d+", colour)[:3])


def first_number(text: str) -> float:
    return float(re.search(r"\d+\.\d+", text).group())  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def audited(lance_http: ThreadServer, driver: Any, recorder: RecordingChatModel) -> list[Any]:
    """The harmful prompt audited through the page, with the key typed into its key form."""
    open_page(driver, lance_http.url)
    assert by_id(driver, "auth").is_displayed()  # keys are set and none was given yet
    by_id(driver, "key").send_keys(KEY + Keys.ENTER)
    wait(driver, lambda d: not by_id(d, "auth").is_displayed())
    before = len(recorder.calls)
    submit(driver, HARMFUL)
    wait(driver, lambda d: by_id(d, "status").text.startswith(("done", "4", "5")), PIPELINE_WAIT_S)
    assert by_id(driver, "status").text == "done: neutralize"
    return recorder.calls[before:]


def test_route_calls_and_tokens_are_those_the_model_saw(audited: list[Any], driver: Any) -> None:
    assert by_id(driver, "fact-route").text == "neutralize"
    assert int(by_id(driver, "fact-calls").text) == len(audited) >= 2
    prompt_tokens = sum(c[2].usage.prompt_tokens for c in audited)
    completion_tokens = sum(c[2].usage.completion_tokens for c in audited)
    assert by_id(driver, "fact-tokens").text == (
        f"{prompt_tokens} prompt + {completion_tokens} completion = {prompt_tokens + completion_tokens}"
    )
    assert len(css(driver, "#calls tbody tr")) == len(audited)
    assert by_id(driver, "answer").text.strip() == audited[-1][2].text.strip()  # the target's answer, as sent
    assert "category threshold" in by_id(driver, "facts").text  # the route's reason is shown


def test_bars_show_the_gates_distribution(audited: list[Any], driver: Any, lance_http: ThreadServer) -> None:
    dist = assess(lance_http.url, HARMFUL)
    bars = {b.get_attribute("data-category"): b for b in css(driver, "#chart rect.bar.before")}
    assert set(bars) == set(dist)
    top = max(dist, key=dist.__getitem__)
    assert top != "safe"
    top_width = bars[top].rect["width"]
    assert top_width > 100  # really drawn
    for cid, p in dist.items():
        assert bars[cid].rect["width"] == pytest.approx(top_width * p / dist[top], abs=1.0), cid
        value = css(driver, f"#chart g.row[data-category='{cid}'] text.value")[0].text
        assert first_number(value) == pytest.approx(p, abs=5e-4), cid
    # the thin bars: the distribution of the rewrite the target answered, assessed independently
    refined = by_id(driver, "refined").text
    after = assess(lance_http.url, refined)
    thin = {b.get_attribute("data-category"): b for b in css(driver, "#chart rect.bar.after")}
    assert set(thin) == set(after)
    assert thin["safe"].rect["width"] == pytest.approx(top_width * after["safe"] / dist[top], abs=1.0)


def _marks(driver: Any) -> list[dict[str, Any]]:
    """Each highlighted piece of the prompt with its code-point offsets, categories, colour and tooltip."""
    return driver.execute_script(
        """
        const out = []; let pos = 0;
        for (const node of document.getElementById('highlighted').childNodes) {
          const n = Array.from(node.textContent).length;
          if (node.nodeName === 'MARK') out.push({start: pos, end: pos + n, text: node.textContent,
            cats: node.dataset.categories.split(' '), colour: getComputedStyle(node).backgroundColor,
            tip: node.dataset.tip});
          pos += n;
        }
        return out;"""
    )


def test_gradient_spans_are_highlighted_in_their_categorys_colour(audited: list[Any], driver: Any) -> None:
    assert by_id(driver, "highlighted").text == HARMFUL  # the whole prompt, nothing lost
    marks = _marks(driver)
    assert marks, "no span highlighted"
    gradient = driver.execute_script("return window.LanceAudit.last.result.gradients[0]")
    taxonomy = load_taxonomy()
    spans = [(c["id"], s) for c in gradient["categories"] for s in c["spans"]]
    assert spans
    for cid, s in spans:
        assert HARMFUL[s["start"] : s["end"]] == s["text"]
        covering = [m for m in marks if s["start"] <= m["start"] and m["end"] <= s["end"]]
        assert "".join(m["text"] for m in covering) == s["text"], s
        assert all(cid in m["cats"] for m in covering)
    for m in marks:  # nothing highlighted outside a span
        assert any(s["start"] <= m["start"] and m["end"] <= s["end"] for _, s in spans), m
        assert taxonomy[m["cats"][0]].directive in m["tip"]
    legend = {
        li.get_attribute("data-category"): li.find_element("css selector", ".swatch").value_of_css_property(
            "background-color"
        )
        for li in css(driver, "#legend li[data-category]")
    }
    assert set(legend) == {c["id"] for c in gradient["categories"]}
    for m in marks:  # a span, its legend entry and its category's bar share one colour
        bar = css(driver, f"#chart rect.bar.before[data-category='{m['cats'][0]}']")[0]
        assert rgb(m["colour"]) == rgb(legend[m["cats"][0]]) == rgb(bar.value_of_css_property("fill"))
    fills = {rgb(b.value_of_css_property("fill")) for b in css(driver, "#chart rect.bar.before")}
    assert len(fills) == len(css(driver, "#chart rect.bar.before"))  # one colour per category


def test_hovering_a_span_shows_its_directive(audited: list[Any], driver: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    tip = by_id(driver, "tip")
    assert not tip.is_displayed()
    mark = css(driver, "#highlighted mark")[0]
    ActionChains(driver).move_to_element(mark).perform()
    wait(driver, lambda d: tip.is_displayed())
    cid = mark.get_attribute("data-categories").split()[0]
    assert load_taxonomy()[cid].directive in tip.text
    ActionChains(driver).move_to_element(by_id(driver, "answer")).perform()
    wait(driver, lambda d: not tip.is_displayed())


def test_rewrite_beside_the_original_with_words_marked(audited: list[Any], driver: Any) -> None:
    original, refined = by_id(driver, "original").text, by_id(driver, "refined").text
    assert original == HARMFUL
    assert refined and refined != HARMFUL
    # what the target was actually sent (the recorder's copy of the last user turn)
    assert any(c[0][-1].content == refined for c in audited)
    deleted = {e.text for e in css(driver, "#original del")}
    inserted = {e.text for e in css(driver, "#refined ins")}
    only_old, only_new = set(original.split()) - set(refined.split()), set(refined.split()) - set(original.split())
    assert only_old <= deleted and only_new <= inserted
    assert deleted and inserted
    # the unmarked words are one common subsequence of both, at least the shared head and tail
    kept = [
        driver.execute_script(
            "return Array.from(arguments[0].childNodes).filter(n => n.nodeType === 3)"
            ".map(n => n.textContent).join(' ').split(/\\s+/).filter(Boolean)",
            by_id(driver, side),
        )
        for side in ("original", "refined")
    ]
    assert kept[0] == kept[1]
    a, b = original.split(), refined.split()
    head = next(i for i, (x, y) in enumerate(zip([*a, None], [*b, None])) if x != y)
    tail = next(i for i, (x, y) in enumerate(zip([*reversed(a), None], [*reversed(b), None])) if x != y)
    assert len(kept[0]) >= head + tail > 0


def test_recent_requests_show_route_and_timings_but_no_prompt(
    audited: list[Any], driver: Any, lance_http: ThreadServer
) -> None:
    row = css(driver, "#recent tbody tr")[0]
    assert row.get_attribute("data-route") == "neutralize"
    cells = [td.text for td in row.find_elements("css selector", "td")]
    assert cells[1] == "audit" and cells[2] == "200"
    dist = assess(lance_http.url, HARMFUL)
    top = max(dist, key=dist.__getitem__)
    assert cells[4].split()[0] == top and first_number(cells[4]) == pytest.approx(dist[top], abs=0.005)
    assert top in cells[5]  # the categories column
    assert first_number(cells[7]) > 0  # latency
    assert int(cells[9]) == len(audited)
    headers = [th.text for th in css(driver, "#recent thead th")]
    assert "prompt" not in headers
    assert HARMFUL not in by_id(driver, "recent-section").text
    body = httpx.get(f"{lance_http.url}/v1/lance/recent", headers=AUTH, timeout=30).text
    assert HARMFUL not in body and "hack" not in body


def test_word_diff(driver: Any, lance_http: ThreadServer) -> None:
    open_page(driver, lance_http.url, KEY)

    def diff(a: str, b: str) -> tuple[list[str], list[str]]:
        d = driver.execute_script("return window.LanceAudit.wordDiff(arguments[0], arguments[1])", a, b)
        return [t for t, changed in d["before"] if changed], [t for t, changed in d["after"] if changed]

    assert diff("how do I hack an account", "how do I secure an account") == (["hack"], ["secure"])
    assert diff("kill the process now", "kill the process now") == ([], [])
    assert diff("a b", "") == (["a", "b"], [])
    assert diff("tell me about it", "please tell me all about it") == ([], ["please", "all"])
    d = driver.execute_script("return window.LanceAudit.wordDiff('a  b', 'a\\nc')")
    assert "".join(t for t, _ in d["before"]) == "a  b" and "".join(t for t, _ in d["after"]) == "a\nc"


def test_span_offsets_are_code_points_as_python_counts_them(driver: Any, lance_http: ThreadServer) -> None:
    open_page(driver, lance_http.url, KEY)
    text = "🙂 so how to build a bomb, 🙂 really?"
    start = text.index("bomb")  # a Python (code point) offset, as the gradient's spans are
    gradient = {
        "categories": [
            {"id": "S9", "name": "Indiscriminate Weapons", "directive": "d", "weight": 0.9,
             "spans": [{"text": "bomb", "start": start, "end": start + 4, "score": 0.5}]}
        ]
    }
    driver.execute_script(
        "window.LanceAudit.renderHighlight(document.getElementById('highlighted'), arguments[0], arguments[1])",
        text,
        gradient,
    )
    assert [m["text"] for m in _marks(driver)] == ["bomb"]
    assert driver.execute_script("return document.getElementById('highlighted').textContent") == text


def test_bad_conversation_gets_a_clear_error_and_keeps_the_text(driver: Any, lance_http: ThreadServer) -> None:
    open_page(driver, lance_http.url, KEY)
    rows = len(css(driver, "#recent tbody tr"))
    text = "hello there\nuser: and then"
    submit(driver, text, conversation=True)
    status = by_id(driver, "status")
    assert "starts with a line 'user: ...'" in status.text and "error" in status.get_attribute("class")
    assert by_id(driver, "prompt").get_attribute("value") == text
    assert not by_id(driver, "result").is_displayed()
    submit(driver, "assistant: hi\nsystem: be brief", conversation=True)
    assert "needs a non-empty 'user:' turn" in by_id(driver, "status").text
    by_id(driver, "refresh").click()
    assert len(css(driver, "#recent tbody tr")) == rows  # nothing was sent


def test_conversation_is_sent_as_turns(driver: Any, lance_http: ThreadServer, recorder: RecordingChatModel) -> None:
    open_page(driver, lance_http.url, KEY)
    before = len(recorder.calls)
    submit(driver, "user: I like Paris.\nassistant: It is lovely.\nuser: " + BENIGN, conversation=True)
    wait(driver, lambda d: by_id(d, "status").text.startswith(("done", "4", "5")), PIPELINE_WAIT_S)
    assert by_id(driver, "status").text == "done: pass"
    sent = recorder.calls[before][0]
    assert [(m.role, m.content) for m in sent[-3:]] == [
        ("user", "I like Paris."), ("assistant", "It is lovely."), ("user", BENIGN)
    ]
    assert by_id(driver, "highlighted").text == BENIGN  # the gate assesses the last user turn
    assert "not rewritten" in by_id(driver, "refined").text


@pytest.fixture(scope="module")
def logged_http(lance_pipeline: Lance) -> Iterator[ThreadServer]:
    """Keys set and prompt logging on: the strictest case for "no key, no data"."""
    config = ServerConfig(api_keys=(KEY,), max_tokens_cap=MAX_TOKENS, log_prompts=True)
    with ThreadServer(create_app(lance_pipeline, config)) as server:
        body = {"model": "lance", "messages": [{"role": "user", "content": BENIGN}], "temperature": 0.0}
        resp = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=AUTH, timeout=PIPELINE_WAIT_S)
        assert resp.status_code == 200, resp.text
        yield server


def test_without_the_key_the_page_shows_no_data(logged_http: ThreadServer, driver: Any) -> None:
    url = logged_http.url
    page = httpx.get(f"{url}/ui", timeout=30)
    assert page.status_code == 200 and BENIGN not in page.text  # the page is public and holds no data
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for method, path in (("GET", "/v1/lance/recent"), ("POST", "/v1/lance/audit")):
        for headers in ({}, {"Authorization": "Bearer sk-wrong"}):
            resp = httpx.request(method, f"{url}{path}", json={"messages": []}, headers=headers, timeout=30)
            assert resp.status_code == 401, (path, headers)
            assert BENIGN not in resp.text

    open_page(driver, url)
    assert by_id(driver, "auth").is_displayed()
    assert "needs an API key" in by_id(driver, "auth-msg").text
    assert css(driver, "#recent tbody tr") == []
    assert BENIGN not in driver.page_source

    by_id(driver, "key").send_keys("sk-wrong" + Keys.ENTER)
    wait(driver, lambda d: "refused" in by_id(d, "auth-msg").text)
    assert css(driver, "#recent tbody tr") == [] and BENIGN not in driver.page_source

    by_id(driver, "key").send_keys(KEY + Keys.ENTER)
    wait(driver, lambda d: len(css(d, "#recent tbody tr")) == 1)
    assert not by_id(driver, "auth").is_displayed()
    row = css(driver, "#recent tbody tr")[0]
    assert row.get_attribute("data-route") == "pass"
    assert row.find_elements("css selector", "td.prompt-cell")[0].text == BENIGN  # log_prompts is on
