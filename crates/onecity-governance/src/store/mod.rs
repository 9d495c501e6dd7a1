//! Every SQL statement of the governance tables, with typed rows decoded through serde:
//! [`settings`] (settings, categories, dispatch rules), [`events`] (events and their
//! history) and [`alerts`] (alerts, alert rules, plans, plan tasks).
//!
//! Each function takes any [`onecity_store::Executor`]: `&db` outside a transaction,
//! `&mut tx` inside one. Times are µs since the epoch (UTC). Work orders are
//! `onecity-flow` cases and departments and jurisdictions are `onecity-iam`'s: the service
//! asks `Flow` and `Iam`, this module never reads their tables. Errors are the store's
//! catalogue errors (`conflict`, `invalid_input`, `timeout`, `internal`).

pub(crate) mod alerts;
pub(crate) mod events;
pub(crate) mod settings;

#[cfg(test)]
mod tests {
    use super::events::*;
    use super::{alerts, settings};
    use onecity_store::Db;
    use uuid::Uuid;

    /// A migrated SQLite store in a fresh directory (kept alive by the returned guard).
    async fn sqlite_store() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path(), &Default::default())
            .await
            .unwrap();
        onecity_store::migrate::run(&db, "governance", &crate::MIGRATIONS)
            .await
            .unwrap();
        (dir, db)
    }

    /// An event shaped like an imported NYC 311 noise complaint (values made up for the test).
    fn nyc_event(request_id: &str, requested_at: i64) -> EventRow {
        EventRow {
            id: onecity_core::new_id(),
            tenant: "nyc".into(),
            request_id: request_id.into(),
            token: format!("token-{request_id}"),
            source: "nyc311".into(),
            external_id: Some(request_id.into()),
            service_code: "noise-street-sidewalk".into(),
            description: Some("Loud Music/Party".into()),
            status: "closed".into(),
            status_notes: Some("The Police Department responded to the complaint.".into()),
            lat: Some(40.80934862341582),
            lon: Some(-73.94721048894898),
            address: Some("104 WEST  125 STREET".into()),
            address_id: None,
            zipcode: Some("10027".into()),
            jurisdiction_id: Some(Uuid::parse_str("0190f0e0-0000-7000-8000-0000000000a1").unwrap()),
            jurisdiction_code: Some("MN".into()),
            jurisdiction_name: Some("Manhattan".into()),
            community_code: None,
            grid_code: Some("MN-10".into()),
            near_border: true,
            attributes: "{}".into(),
            media_url: None,
            attachments: "[]".into(),
            agency: Some("New York City Police Department".into()),
            department_id: None,
            co_departments: "[]".into(),
            case_id: None,
            duplicate_of: None,
            merged_into: None,
            contact: None,
            requested_at,
            updated_at: requested_at + 3_600_000_000,
            due_at: Some(requested_at + 28_800_000_000),
            closed_at: Some(requested_at + 3_600_000_000),
            rating: None,
            rating_comment: None,
            created_at: requested_at,
        }
    }

    #[tokio::test]
    async fn one_insert_writes_every_column_and_reads_back() {
        let (_dir, db) = sqlite_store().await;
        let event = nyc_event("59893921", 1_700_000_000_000_000);
        insert_event(&db, &event).await.unwrap();
        let read = event_by_id(&db, "nyc", event.id).await.unwrap().unwrap();
        assert_eq!(read.request_id, "59893921");
        assert_eq!(read.external_id.as_deref(), Some("59893921"));
        assert_eq!(read.lat, Some(40.80934862341582));
        assert_eq!(read.lon, Some(-73.94721048894898));
        assert_eq!(read.address.as_deref(), Some("104 WEST  125 STREET"));
        assert!(read.near_border);
        assert_eq!(read.jurisdiction_id, event.jurisdiction_id);
        assert_eq!(read.due_at, Some(1_700_028_800_000_000));
        assert_eq!(read.contact, None);
        assert!(event_by_id(&db, "sh", event.id).await.unwrap().is_none());
        let conflict = insert_event(&db, &nyc_event("59893921", 1))
            .await
            .unwrap_err();
        assert_eq!(conflict.code, onecity_core::ErrorCode::Conflict);
        assert_eq!(
            request_id_by_token(&db, "nyc", "token-59893921")
                .await
                .unwrap()
                .as_deref(),
            Some("59893921")
        );
        assert_eq!(
            imported_versions(&db, "nyc", "nyc311").await.unwrap(),
            [("59893921".to_string(), 1_700_003_600_000_000)]
        );
    }

    #[tokio::test]
    async fn lists_filter_page_and_join_the_category_name() {
        let (_dir, db) = sqlite_store().await;
        let first = nyc_event("1001", 1_000);
        let mut second = nyc_event("1002", 2_000);
        second.status = "open".into();
        second.near_border = false;
        insert_event(&db, &first).await.unwrap();
        insert_event(&db, &second).await.unwrap();
        let service = settings::ServiceRow {
            code: "noise-street-sidewalk".into(),
            name: "Noise - Street/Sidewalk".into(),
            name_zh: None,
            description: None,
            keywords: None,
            grp: Some("NYPD".into()),
            kind: "realtime".into(),
            deadline_working_days: Some(1),
            attributes: "[]".into(),
        };
        settings::replace_service(&db, "nyc", &service, 5)
            .await
            .unwrap();

        let newest_first = events(&db, "nyc", &EventFilter::default(), 10)
            .await
            .unwrap();
        let ids: Vec<&str> = newest_first.iter().map(|e| e.request_id.as_str()).collect();
        assert_eq!(ids, ["1002", "1001"]);
        let after_cursor = EventFilter {
            before_id: Some(second.id),
            ..Default::default()
        };
        let page = events(&db, "nyc", &after_cursor, 10).await.unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].request_id, "1001");
        let border = EventFilter {
            near_border: Some(true),
            status: Some("closed"),
            ..Default::default()
        };
        assert_eq!(events(&db, "nyc", &border, 10).await.unwrap().len(), 1);

        let by_id = RequestFilter {
            request_ids: Some(vec!["1001".into()]),
            statuses: Some(vec!["open".into()]),
            ..Default::default()
        };
        let rows = requests(&db, "nyc", &by_id, 1000, 0).await.unwrap();
        assert_eq!(rows.len(), 1, "ids ignore the other filters");
        assert_eq!(
            rows[0].service_name.as_deref(),
            Some("Noise - Street/Sidewalk")
        );
        let open_in_range = RequestFilter {
            statuses: Some(vec!["open".into()]),
            requested_from: Some(1_500),
            requested_to: Some(2_000),
            ..Default::default()
        };
        let rows = requests(&db, "nyc", &open_in_range, 1000, 0).await.unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["1002"]);
        let nothing = RequestFilter {
            service_codes: Some(vec![]),
            ..Default::default()
        };
        assert!(requests(&db, "nyc", &nothing, 1000, 0)
            .await
            .unwrap()
            .is_empty());
        let second_page = requests(&db, "nyc", &RequestFilter::default(), 1, 1)
            .await
            .unwrap();
        assert_eq!(second_page[0].request_id, "1001");
    }

    #[tokio::test]
    async fn status_changes_and_the_event_log() {
        let (_dir, db) = sqlite_store().await;
        let event = nyc_event("2001", 1_000);
        insert_event(&db, &event).await.unwrap();
        let case_id = Uuid::parse_str("0190f0e0-0000-7000-8000-0000000000c1").unwrap();
        set_case(&db, event.id, case_id).await.unwrap();
        assert_eq!(event_of_case(&db, case_id).await.unwrap(), Some(event.id));
        reopen(&db, event.id, 5_000).await.unwrap();
        let read = event_by_id(&db, "nyc", event.id).await.unwrap().unwrap();
        assert_eq!(
            (read.status.as_str(), read.closed_at, read.updated_at),
            ("open", None, 5_000)
        );
        extend(&db, event.id, 1, 99, 6_000).await.unwrap();
        let unchanged = event_by_id(&db, "nyc", event.id).await.unwrap().unwrap();
        assert_eq!(
            unchanged.due_at, event.due_at,
            "only from the deadline it still has"
        );
        close(&db, event.id, 7_000).await.unwrap();
        rate(&db, event.id, 4, Some("quick")).await.unwrap();
        let read = event_by_id(&db, "nyc", event.id).await.unwrap().unwrap();
        assert_eq!(
            (read.status.as_str(), read.closed_at, read.rating),
            ("closed", Some(7_000), Some(4))
        );
        assert_eq!(read.rating_comment.as_deref(), Some("quick"));

        append_log(&db, event.id, 10, "system", "create", None)
            .await
            .unwrap();
        append_log(
            &db,
            event.id,
            20,
            "user:1",
            "rate",
            Some("{\"score\":4}".into()),
        )
        .await
        .unwrap();
        let log = log_entries(&db, event.id).await.unwrap();
        let seqs: Vec<(i64, &str)> = log.iter().map(|e| (e.seq, e.kind.as_str())).collect();
        assert_eq!(seqs, [(1, "create"), (2, "rate")]);
        assert_eq!(log[1].detail.as_deref(), Some("{\"score\":4}"));
    }

    #[tokio::test]
    async fn an_alert_is_claimed_by_one_runner_until_its_lease_ends() {
        let (_dir, db) = sqlite_store().await;
        let id = onecity_core::new_id();
        let alert = alerts::NewAlertRow {
            id,
            tenant: "sh",
            source: "cap",
            source_ref: "urn:oid:2.49.0.1.156.0.2026.12.7.1",
            alert_type: "flood",
            level: "orange",
            headline: "Huangpu river above warning level",
            description: None,
            area_desc: "Huangpu",
            polygons: "[]".into(),
            circles: "[[31.23,121.49,1.0]]".into(),
            sent_at: 1_000,
            created_at: 1_001,
        };
        alerts::insert_alert(&db, &alert).await.unwrap();
        assert_eq!(
            alerts::alert_id_by_source(&db, "sh", "cap", alert.source_ref)
                .await
                .unwrap(),
            Some(id)
        );
        assert_eq!(alerts::pending_alerts(&db, 0, 50).await.unwrap().len(), 1);
        assert!(alerts::claim_alert(&db, id, 10_000, 0).await.unwrap());
        assert!(
            !alerts::claim_alert(&db, id, 10_001, 5_000).await.unwrap(),
            "lease held"
        );
        assert!(alerts::pending_alerts(&db, 5_000, 50)
            .await
            .unwrap()
            .is_empty());
        assert!(
            alerts::claim_alert(&db, id, 20_000, 10_500).await.unwrap(),
            "stale lease"
        );
        let case_id = Uuid::parse_str("0190f0e0-0000-7000-8000-0000000000c2").unwrap();
        alerts::insert_alert_task(&db, id, 0, case_id)
            .await
            .unwrap();
        assert_eq!(alerts::alert_tasks(&db, id).await.unwrap(), [(0, case_id)]);
        alerts::finish_alert(&db, id, &format!("[\"{case_id}\"]"))
            .await
            .unwrap();
        let read = alerts::alert(&db, "sh", id).await.unwrap().unwrap();
        assert_eq!(read.work_orders, format!("[\"{case_id}\"]"));
        assert_eq!(read.circles, "[[31.23,121.49,1.0]]");
        assert!(alerts::pending_alerts(&db, i64::MAX, 50)
            .await
            .unwrap()
            .is_empty());
    }
}
