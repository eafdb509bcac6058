//! Picking free TCP ports on loopback.
//!
//! Ports come from `20000..32768`, which sits below Linux's default ephemeral
//! range (`32768..61000`): a port from the ephemeral range can be taken as the
//! *local* port of some unrelated outgoing connection between the moment we
//! pick it and the moment the service binds it, which makes tests flaky.
//! Within one process a port is never handed out twice.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

const RANGE_START: u16 = 20_000;
const RANGE_END: u16 = 32_768; // exclusive
const ATTEMPTS: usize = 512;

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static CALLS: AtomicU64 = AtomicU64::new(0);

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is checked by binding `127.0.0.1:<port>` and dropping the listener,
/// so a service started right after will normally get it. Ports are taken from
/// `20000..32768` (see the module docs); if none of those can be bound, the
/// kernel's choice for `127.0.0.1:0` is returned instead.
pub fn free_port() -> u16 {
    let span = u64::from(RANGE_END - RANGE_START);
    // Random start so that concurrent test processes rarely probe the same ports.
    let mut candidate = random_u64() % span;
    for _ in 0..ATTEMPTS {
        let port = RANGE_START + (candidate as u16);
        candidate = (candidate + 1) % span;
        if !reserve(port) {
            continue;
        }
        if probe(port) {
            return port;
        }
    }
    // Fallback: let the kernel pick (ephemeral range).
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => {
            reserve(addr.port());
            addr.port()
        }
        // Nothing can be bound at all; the service's own bind will report it.
        Err(_) => RANGE_START + (random_u64() % span) as u16,
    }
}

/// Whether `127.0.0.1:<port>` can be bound.
///
/// Binds with SO_REUSEADDR but does not listen: a listening probe socket can
/// be inherited by a child that another thread forks at that moment, keeping
/// the port busy until the child execs; a bound, non-listening SO_REUSEADDR
/// socket does not block a server that also sets SO_REUSEADDR (PostgreSQL
/// and the JVM both do). A socket that is already listening on the port still
/// makes the probe fail.
fn probe(port: u16) -> bool {
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return false;
    };
    socket.set_reuseaddr(true).is_ok()
        && socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .is_ok()
}

/// Marks `port` as handed out; false if it already was.
fn reserve(port: u16) -> bool {
    // A poisoned lock only means another thread panicked mid-insert; the set is still usable.
    let mut guard = HANDED_OUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    guard.get_or_insert_with(HashSet::new).insert(port)
}

/// A random-enough number without a `rand` dependency: std's randomly keyed
/// SipHash over the pid, the time and a call counter.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_sees_a_listener() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(!probe(port), "a listening port must not look free");
        // (Not re-probing after drop: a child forked meanwhile by a concurrent
        // test may briefly hold the listener, which is why probe() never listens.)
        drop(listener);
    }

    #[test]
    fn ports_are_distinct_and_bindable() {
        let mut seen = HashSet::new();
        for _ in 0..50 {
            let port = free_port();
            assert!(port > RANGE_START - 1, "port {port} too low");
            assert!(seen.insert(port), "port {port} handed out twice");
            assert!(probe(port), "port {port} should be bindable");
        }
    }
}
