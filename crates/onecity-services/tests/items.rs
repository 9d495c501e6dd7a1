//! The service layer of items without HTTP, on a real store (SQLite, or PostgreSQL with
//! `ONECITY_TEST_BACKEND=postgres`): the demo catalog loads once (a second load writes
//! nothing, a changed item gets one new published version), and `published_items` gives
//! every published item at its published version for indexes.

use onecity_iam::{Iam, IamConfig, NewTenant, Principal};
use onecity_services::demo::{self, DEMO_TENANT};
use onecity_services::item::{ItemState, PutOutcome, VersionSel};
use onecity_services::Hall;
use onecity_store::audit::Auditor;
use onecity_store::bus::EventBus;
use onecity_store::{Db, DbOptions};

async fn hall() -> (tempfile::TempDir, Hall) {
    let dir = tempfile::tempdir().unwrap();
    let db = match onecity_testkit::backend() {
        onecity_testkit::Backend::Sqlite => Db::open_sqlite(dir.path(), &DbOptions::default())
            .await
            .unwrap(),
        onecity_testkit::Backend::Postgres => Db::open_postgres(
            &onecity_testkit::fresh_pg_database().await.unwrap(),
            &DbOptions::default(),
        )
        .await
        .unwrap(),
    };
    for (component, migrations) in [
        ("store", onecity_store::migrations()),
        ("iam", &onecity_iam::MIGRATIONS[..]),
        ("flow", &onecity_flow::MIGRATIONS[..]),
        ("services", &onecity_services::MIGRATIONS[..]),
    ] {
        onecity_store::migrate::run(&db, component, migrations)
            .await
            .unwrap();
    }
    let auditor = Auditor::load(&db).await.unwrap();
    let iam = Iam::new(
        db.clone(),
        auditor,
        EventBus::local(db.clone()),
        IamConfig::default(),
    )
    .await
    .unwrap();
    iam.create_tenant(
        "system",
        &NewTenant {
            code: DEMO_TENANT.into(),
            name: "杭州市".into(),
            name_en: Some("Hangzhou".into()),
            root_level: Some("city".into()),
            root_code: Some("330100".into()),
        },
    )
    .await
    .unwrap();
    let flow = onecity_flow::Flow::new(iam.clone());
    (dir, Hall::new(iam, flow))
}

#[tokio::test]
async fn the_demo_catalog_loads_once_and_a_change_is_one_new_version() {
    let (_dir, hall) = hall().await;
    let total: usize = demo::catalog().unwrap().iter().map(|(_, b)| b.len()).sum();
    let first = demo::install(&hall).await.unwrap();
    assert_eq!(first.created, total);
    assert_eq!(first.departments_created, demo::CATALOG_FILES.len());
    let second = demo::install(&hall).await.unwrap();
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 0, total)
    );
    assert_eq!(second.departments_created, 0);

    let items = hall.published_items(DEMO_TENANT).await.unwrap();
    assert_eq!(items.len(), total);
    assert!(items.windows(2).all(|w| w[0].body.code < w[1].body.code));
    assert!(items
        .iter()
        .all(|i| i.state == ItemState::Published && i.version == 1));

    // A changed promised limit: one new version, published; unchanged otherwise.
    let (_, bodies) = demo::catalog()
        .unwrap()
        .into_iter()
        .find(|(d, _)| d.code == "HZ-WJW")
        .unwrap();
    let mut birth = bodies[0].clone();
    assert_eq!(birth.code, "330100-20-WJW-001-000");
    birth.time_limits.promised_days = 2;
    let system = Principal::system();
    assert_eq!(
        hall.put_published(&system, DEMO_TENANT, &birth)
            .await
            .unwrap(),
        PutOutcome::Updated
    );
    assert_eq!(
        hall.put_published(&system, DEMO_TENANT, &birth)
            .await
            .unwrap(),
        PutOutcome::Unchanged
    );
    let now = hall
        .item(None, DEMO_TENANT, &birth.code, VersionSel::Published)
        .await
        .unwrap();
    assert_eq!((now.version, now.body.time_limits.promised_days), (2, 2));
    let old = hall
        .item(None, DEMO_TENANT, &birth.code, VersionSel::Number(1))
        .await
        .unwrap();
    assert_eq!(old.body.time_limits.promised_days, 3);
    let history = hall
        .item_history(None, DEMO_TENANT, &birth.code)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].current && !history[1].current);
}
