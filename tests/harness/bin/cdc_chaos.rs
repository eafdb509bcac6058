//! `cdc-chaos`: the driver behind `dev/chaos` (see `cdc_e2e::chaos`). Prints the fault log and
//! ends with `chaos: seed=<s> faults=<n> lost=<n> duplicated=<n> diverged_tables=<n>`; exits 1
//! unless all three counts (and reordered keys) are 0, 2 on a usage or harness error.

use std::time::Duration;

use cdc_e2e::chaos::{self, Options};

const USAGE: &str = "usage: cdc-chaos [--seed N] [--faults N] [--gap-ms MIN-MAX] [--pause-ms N] [--dir DIR] [--keep]

Runs a steady mixed write load (inserts, updates, deletes over three tables; every 150th
transaction inserts 3,000 rows) through PostgreSQL -> cdc-capture -> Kafka -> cdc-sink
(mirror + changelog) and injects faults at random moments chosen by the seed: kill -9 of
the capture and of the sink, PostgreSQL immediate restart, Kafka broker restart, broker stall
(SIGSTOP 8-14 s, then SIGCONT), and - when run as root, on a tmpfs warehouse - a read-only
and a full warehouse file system for 8-14 s. Processes that exit are restarted, as a service
manager would. After the load stops and everything drains it checks: Kafka (read_committed)
holds every source change exactly once in commit order per key, every changelog table holds
every Kafka change record exactly once, every mirror table equals PostgreSQL (cdc-sink
verify), the replication slot's confirmed position reached the end of the load.

  --seed N        replay a run (default: time-based, printed first)
  --faults N      faults to inject (default 12; every kind at least once when N allows)
  --gap-ms A-B    quiet time between faults (default 2000-6000)
  --pause-ms N    pause between load transactions (default 20)
  --dir DIR       run directory (default <tmp>/cdc-chaos-<pid>; kept when the run fails)
  --keep          keep the run directory after a passing run";

fn parse() -> Result<Options, String> {
    let mut options = Options {
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs()),
        faults: 12,
        gap: (Duration::from_millis(2000), Duration::from_millis(6000)),
        pause: Duration::from_millis(20),
        dir: std::env::temp_dir().join(format!("cdc-chaos-{}", std::process::id())),
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match arg.as_str() {
            "--seed" => options.seed = number("--seed", value("--seed")?)?,
            "--faults" => options.faults = number("--faults", value("--faults")?)? as usize,
            "--pause-ms" => {
                options.pause = Duration::from_millis(number("--pause-ms", value("--pause-ms")?)?)
            }
            "--gap-ms" => {
                let v = value("--gap-ms")?;
                let (a, b) = v.split_once('-').ok_or("--gap-ms: expected MIN-MAX")?;
                let (a, b) = (number("--gap-ms", a.into())?, number("--gap-ms", b.into())?);
                if a > b {
                    return Err("--gap-ms: MIN > MAX".into());
                }
                options.gap = (Duration::from_millis(a), Duration::from_millis(b));
            }
            "--dir" => options.dir = value("--dir")?.into(),
            "--keep" => options.keep = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = match parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("cdc-chaos: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    println!(
        "chaos: seed={} (re-run with --seed {}), {} faults",
        options.seed, options.seed, options.faults
    );
    match chaos::run(&options).await {
        Ok(report) => {
            for detail in &report.details {
                println!("chaos: detail: {detail}");
            }
            if report.reordered > 0 {
                println!("chaos: keys with events out of order: {}", report.reordered);
            }
            println!("{}", report.line());
            if !report.passed() {
                std::process::exit(1);
            }
        }
        Err(e) => {
            println!("chaos: harness error: {e}");
            eprintln!("(run directory kept: {})", options.dir.display());
            std::process::exit(2);
        }
    }
}
