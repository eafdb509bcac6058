//! `cdc-soak`: the driver behind `dev/soak` (see `cdc_e2e::soak`). Prints progress once a
//! minute and a markdown report; exits 1 when a sampled series grows over the run.

use cdc_e2e::soak::{self, Options};

const USAGE: &str =
    "usage: cdc-soak [--minutes N] [--rate CHANGES_PER_S] [--seed N] [--dir DIR] [--report FILE]

Runs the dev/chaos write load (three tables, transactions of 1-8 changes, every 150th one
inserting 3,000 rows) at a fixed rate through PostgreSQL -> cdc-capture -> Kafka -> cdc-sink
for N minutes without faults, and samples once a second: RSS of cdc-capture and cdc-sink,
slot lag (current WAL - confirmed_flush_lsn), consumer lag (high watermark - the sink's
committed offsets) and the sink's mean commit latency. The report says for each whether it
grows: after a 10 % warm-up, the median of the last third against the median of the first
third (more than 25 % plus a noise allowance). All samples go to <dir>/samples.csv.

  --minutes N   run length (default 30)
  --rate N      changes per second (default 500)
  --seed N      load seed (default 1)
  --dir DIR     run directory (default <tmp>/cdc-soak-<pid>)
  --report FILE also write the markdown report there";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut options = Options {
        minutes: 30.0,
        rate: 500,
        seed: 1,
        dir: std::env::temp_dir().join(format!("cdc-soak-{}", std::process::id())),
    };
    let mut report_file = None;
    let mut args = std::env::args().skip(1);
    let fail = |e: String| -> ! {
        eprintln!("cdc-soak: {e}\n\n{USAGE}");
        std::process::exit(2)
    };
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--minutes" => {
                options.minutes = value()
                    .parse()
                    .ok()
                    .filter(|m: &f64| *m > 0.0)
                    .unwrap_or_else(|| fail("--minutes: a positive number".into()))
            }
            "--rate" => {
                options.rate = value()
                    .parse()
                    .ok()
                    .filter(|r: &u64| *r > 0)
                    .unwrap_or_else(|| fail("--rate: a positive integer".into()))
            }
            "--seed" => {
                options.seed = value()
                    .parse()
                    .unwrap_or_else(|_| fail("--seed: an integer".into()))
            }
            "--dir" => options.dir = value().into(),
            "--report" => report_file = Some(value()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => fail(format!("unknown argument {other}")),
        }
    }
    println!(
        "soak: {} min at {} changes/s (work dir {})",
        options.minutes,
        options.rate,
        options.dir.display()
    );
    match soak::run(&options).await {
        Ok((report, grows)) => {
            println!("{report}");
            if let Some(path) = report_file {
                if let Err(e) = std::fs::write(&path, &report) {
                    eprintln!("cdc-soak: writing {path}: {e}");
                }
            }
            println!(
                "soak: {}",
                if grows {
                    "GROWS (see the table)"
                } else {
                    "flat: no series grows"
                }
            );
            if grows {
                std::process::exit(1);
            }
        }
        Err(e) => {
            println!("soak: harness error: {e}");
            std::process::exit(2);
        }
    }
}
