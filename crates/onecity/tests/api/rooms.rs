//! Room finding (找房, issue 15): `onecity import lodging --inside-boundary` puts the 7,279
//! City of Melbourne listings into the twin; the search ranks free rooms, rejects bad
//! input with 400s, and a booking removes the room from the next search; a second booking
//! of the same nights is 409.

use crate::{fixture, server};
use serde_json::{json, Value};

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn data(path: &str) -> String {
    onecity_testkit::repo_root()
        .join("../shared/data")
        .join(path)
        .display()
        .to_string()
}

#[tokio::test]
async fn import_search_book_and_bad_input() {
    let mut s = server().await;
    let _ = fixture(&s).await;
    let (code, out, err) = s
        .cli(&[
            "import",
            "lodging",
            "--tenant",
            "t1",
            "--inside-boundary",
            "--file",
            &data("lodging/melbourne_airbnb_listings_clean.csv"),
            "--boundary",
            &data("geo/melbourne_municipal_boundary.geojson"),
        ])
        .expect("the binary runs");
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(report["read"], 23_185);
    assert_eq!(report["selected"], 7_279);
    assert_eq!(report["written"], 7_279);
    let never = report["never_available"].as_u64().unwrap();
    assert!(never > 0);
    // The twin is loaded at start: restart to see the imported entities.
    s.restart(&[]).await.unwrap();
    let admin = s.admin_token().await.unwrap();

    // Flinders Street station, two nights from the day after tomorrow.
    let base = format!(
        "/api/v1/brain/rooms?tenant=t1&lat=-37.8183&lon=144.9671&checkin={}&nights=2",
        day(2)
    );
    let (st, r) = s.get(&base, "").await.unwrap();
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["calendar"], "synthetic");
    assert_eq!(r["indexed"].as_u64().unwrap(), 7_279 - never);
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert!(r["total"].as_u64().unwrap() > 20);
    let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    for i in items {
        assert!(i["distance_m"].as_f64().unwrap() <= 2_000.0);
        assert!(i["minimum_nights"].as_u64().unwrap() <= 2);
        assert!(i["availability_365"].as_u64().unwrap() > 0);
        assert!(i["listing_id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit()));
    }

    // Bad input: each a 400 naming the problem.
    for (extra, want) in [
        ("&price_min=300&price_max=100", "inverted"),
        ("&radius_m=0", "radius_m"),
        ("&radius_m=10000000000", "radius_m"),
        ("&room_type=castle", "unknown room_type"),
    ] {
        let (st, p) = s.get(&format!("{base}{extra}"), "").await.unwrap();
        assert_eq!(
            (st, p["code"].as_str()),
            (400, Some("invalid_query")),
            "{extra}: {p}"
        );
        assert!(p["detail"].as_str().unwrap().contains(want), "{p}");
    }
    let (st, p) = s
        .get(&base.replace("nights=2", "nights=0"), "")
        .await
        .unwrap();
    assert_eq!(
        (st, p["code"].as_str()),
        (400, Some("invalid_query")),
        "{p}"
    );
    let (st, _) = s
        .get("/api/v1/brain/rooms?tenant=nowhere&lat=-37.8&lon=144.9", "")
        .await
        .unwrap();
    assert_eq!(st, 404);

    // Book the best room: it is gone from the next search; the same nights again are 409.
    let best = items[0]["listing_id"].as_str().unwrap().to_string();
    let book = format!("/api/v1/brain/rooms/{best}/bookings");
    let body = json!({"tenant": "t1", "checkin": day(2), "nights": 2});
    let (st, b) = s.post(&book, "", &body).await.unwrap();
    assert_eq!(st, 401, "booking needs a sign-in: {b}");
    let (st, b) = s.post(&book, &admin, &body).await.unwrap();
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["listing_id"], best.as_str());
    assert_eq!(b["checkout"], day(4));
    let (_, after) = s.get(&base, "").await.unwrap();
    let ids: Vec<&str> = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["listing_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&best.as_str()), "{best} still listed");
    assert_eq!(
        after["total"].as_u64().unwrap(),
        r["total"].as_u64().unwrap() - 1
    );
    // The same nights again (the room's minimum stay is at most 2, the search said so).
    let (st, p) = s.post(&book, &admin, &body).await.unwrap();
    assert_eq!((st, p["code"].as_str()), (409, Some("conflict")), "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("already booked"),
        "{p}"
    );
    let (st, p) = s
        .post(
            &book,
            &admin,
            &json!({"tenant": "t1", "checkin": day(2), "nights": 0}),
        )
        .await
        .unwrap();
    assert_eq!(st, 422, "{p}");
    let (st, _) = s
        .post("/api/v1/brain/rooms/1/bookings", &admin, &body)
        .await
        .unwrap();
    assert_eq!(st, 404);
}
