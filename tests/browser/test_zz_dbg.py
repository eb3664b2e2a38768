import re
from tests.browser.test_console_journey import _sign_in
def test_dbg(browser, live):
    p = browser.new_context(locale="en").new_page()
    _sign_in(p, live.url, "school.head")
    p.goto(f"{live.url}/staff/acts/{live.district.school_id}?month=2026-12")
    print(p.url, re.sub(r"\s+", " ", p.text_content("main"))[:300])
