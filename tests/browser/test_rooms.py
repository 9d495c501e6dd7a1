"""End-to-end test of the room finder 找房 (issue 15, the Haikou case) on the demo tenant
`melbourne` (the 7,279 listings inside the City of Melbourne boundary), in Chinese and in
English: the public page shows the map and a ranked list of free rooms with non-zero size;
Book sends a visitor without a session to the login page and back; after signing in, Book
reserves the best room and the room is gone from the refreshed results. Screenshots go to
ONECITY_ARTIFACTS."""

import pytest
from selenium.webdriver.common.by import By

from onecity_browser import (
    BASE_URL,
    artifacts_on_exit,
    assert_no_page_error,
    body_data,
    login,
    save_artifacts,
    wait_for,
)


def ready(drv, what):
    wait_for(drv, lambda d: body_data(d, "roomsReady") == "1", what=what)
    assert_no_page_error(drv, what)


def listed(drv):
    return [li.get_attribute("data-listing") for li in drv.find_elements(By.CSS_SELECTOR, "#rooms-list li.rooms-item")]


def assert_visible(drv, element_id):
    el = drv.find_element(By.ID, element_id)
    size = el.size
    assert el.is_displayed() and size["width"] > 0 and size["height"] > 0, f"#{element_id} has size {size}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_find_and_book_a_room(driver, lang):
    drv = driver
    with artifacts_on_exit(drv, f"onecity-rooms-{lang}"):
        drv.get(f"{BASE_URL}/rooms?tenant=melbourne&lang={lang}")
        ready(drv, "room finder")
        heading = drv.find_element(By.ID, "rooms-heading").text
        assert ("找房" in heading) and (("Find a room" in heading) or lang == "zh"), heading
        assert_visible(drv, "map")
        wait_for(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#map canvas.maplibregl-canvas"), what="map canvas")
        assert_visible(drv, "rooms-list")
        total = int(body_data(drv, "roomsTotal"))
        assert total > 20, total
        first = listed(drv)
        assert len(first) == 20, first
        label = "预订" if lang == "zh" else "Book"
        assert label in drv.find_element(By.CSS_SELECTOR, "#rooms-list li.rooms-item button.rooms-book").text
        save_artifacts(drv, f"onecity-rooms-{lang}-1-results")

        # A filter: private rooms only, at most A$150.
        drv.find_element(By.CSS_SELECTOR, "#rooms-type option[value='private_room']").click()
        drv.find_element(By.ID, "rooms-price-max").send_keys("150")
        drv.find_element(By.ID, "rooms-search").click()
        ready(drv, "filtered search")
        filtered = int(body_data(drv, "roomsTotal"))
        assert 0 < filtered < total, (filtered, total)
        metas = [m.text for m in drv.find_elements(By.CSS_SELECTOR, "#rooms-list li.rooms-item .muted")]
        want = "独立房间" if lang == "zh" else "Private room"
        assert metas and all(want in m for m in metas), metas[:3]
        save_artifacts(drv, f"onecity-rooms-{lang}-2-filtered")

        # Book without a session: to the login page and back.
        drv.find_element(By.CSS_SELECTOR, "#rooms-list li.rooms-item button.rooms-book").click()
        login(drv, landing="/rooms", start=False)
        ready(drv, "room finder after login")
        before = listed(drv)
        total_before = int(body_data(drv, "roomsTotal"))
        best = before[0]
        drv.find_element(By.CSS_SELECTOR, f"#rooms-list li[data-listing='{best}'] button.rooms-book").click()
        wait_for(drv, lambda d: body_data(d, "roomsBooked") == best and body_data(d, "roomsReady") == "1", what="booking")
        assert_no_page_error(drv, "booking")
        after = listed(drv)
        assert best not in after, f"booked room {best} is still listed"
        assert int(body_data(drv, "roomsTotal")) == total_before - 1
        status = drv.find_element(By.ID, "rooms-status").text
        assert ("已预订" if lang == "zh" else "Booked") in status, status
        save_artifacts(drv, f"onecity-rooms-{lang}-3-booked")
