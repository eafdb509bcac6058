//! e2e: the short `dev/chaos` run of `dev/test` — at least 10 faults of every kind (process
//! kills, PostgreSQL immediate restart, Kafka restart and stall, read-only and full warehouse
//! when the test runs as root) under a steady load; nothing lost, nothing duplicated, no
//! table diverged. `CDC_TEST_SEED=<n>` replays a run.

use std::time::Duration;

use cdc_e2e::chaos::{run, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_faults_under_load_lose_and_duplicate_nothing() {
    let seed = std::env::var("CDC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs())
        });
    println!("chaos: seed={seed} (re-run with CDC_TEST_SEED={seed})");
    let options = Options {
        seed,
        faults: 10,
        gap: (Duration::from_millis(1500), Duration::from_millis(4000)),
        pause: Duration::from_millis(20),
        dir: std::env::temp_dir().join(format!("cdc-e2e-chaos-{}", std::process::id())),
        keep: false,
    };
    let report = run(&options).await.expect("chaos harness");
    for detail in &report.details {
        println!("chaos: detail: {detail}");
    }
    println!("{}", report.line());
    assert!(report.faults.len() >= 10, "{report:?}");
    assert!(report.passed(), "{}: {:?}", report.line(), report.details);
}
