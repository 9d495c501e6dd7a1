use crate::{fixture, server_with};
use onecity_store::args;
use onecity_testkit::{require_env, Options};
use std::time::{Duration, Instant};

/// Kills the server between the commit of a change and the publication of its event, then
/// restarts it and checks that the event is delivered, exactly once, to the consumer.
async fn killed_between_commit_and_publish(mut env: Vec<(String, String)>) {
    env.push(("ONECITY_OUTBOX_RELAY_DELAY_MS".into(), "600000".into()));
    let mut s = server_with(Options {
        env,
        ..Default::default()
    })
    .await;
    let f = fixture(&s).await;
    let db = s.open_store().await.unwrap();
    let row = db
        .fetch_optional("SELECT id, published_at FROM outbox WHERE topic = 'onecity.iam.department_created' ORDER BY seq DESC LIMIT 1", &[])
        .await
        .unwrap()
        .expect("the department's event is in the outbox");
    assert!(
        row.opt_i64("published_at").unwrap().is_none(),
        "not yet published"
    );
    let event_id = row.text("id").unwrap();
    let _ = f;
    s.kill9();
    s.restart(&[("ONECITY_OUTBOX_RELAY_DELAY_MS", "0")])
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let deliveries = loop {
        let r = db
            .fetch_optional("SELECT deliveries FROM event_receipts WHERE consumer = 'ops.event-log' AND event_id = $1", args![event_id.clone()])
            .await
            .unwrap();
        if let Some(r) = r {
            break r.i64("deliveries").unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "event not delivered after restart; log:\n{}",
            s.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(deliveries, 1);
    // A second restart delivers nothing again.
    s.restart(&[("ONECITY_OUTBOX_RELAY_DELAY_MS", "0")])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = db
        .fetch_optional("SELECT deliveries FROM event_receipts WHERE consumer = 'ops.event-log' AND event_id = $1", args![event_id])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.i64("deliveries").unwrap(),
        1,
        "delivered once per consumer"
    );
    let pending = db
        .fetch_all("SELECT id FROM outbox WHERE published_at IS NULL", &[])
        .await
        .unwrap();
    assert!(
        pending.is_empty(),
        "everything was published after the restart"
    );
}

#[tokio::test]
async fn local_bus_delivers_after_sigkill_once() {
    killed_between_commit_and_publish(vec![]).await;
}

#[tokio::test]
async fn nats_bus_delivers_after_sigkill_once() {
    let Some(url) = require_env("ONECITY_TEST_NATS_URL") else {
        return;
    };
    let stream = format!("OCT{}", onecity_core::new_id().simple());
    killed_between_commit_and_publish(vec![
        ("ONECITY_NATS_URL".into(), url),
        ("ONECITY_NATS_STREAM".into(), stream),
    ])
    .await;
}
