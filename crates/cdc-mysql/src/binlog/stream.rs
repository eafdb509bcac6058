//! Opening a binlog dump and reading it as typed, verified [`BinlogEvent`]s.
//!
//! [`BinlogEvents::open`] connects, announces what this replica understands
//! and requests the dump from a [`StartPosition`]:
//! - MariaDB: always `@mariadb_slave_capability=4` (native GTID, GTID_LIST,
//!   ANNOTATE_ROWS events); from a GTID list via `@slave_connect_state` +
//!   `@slave_gtid_strict_mode=1` and a COM_BINLOG_DUMP with an empty file name
//!   at position 4; from file + position with a plain COM_BINLOG_DUMP.
//! - MySQL: from a GTID set with COM_BINLOG_DUMP_GTID; from file + position
//!   with COM_BINLOG_DUMP.
//!
//! [`BinlogEvents::next`] then, for every event: verifies its CRC32
//! (mismatch → [`BinlogError::Checksum`]); fixes the first artificial ROTATE,
//! whose file name still carries the 4 checksum bytes (it arrives before the
//! FORMAT_DESCRIPTION that announces checksums; its CRC is verified too);
//! tracks file and position; refuses unknown event types; and checks that a
//! non-empty TRANSACTION_PAYLOAD really expanded into events (mysql_async
//! turns a decompression failure into an empty payload silently).
//!
//! Panics: mysql_common's `Event::read` panics on a truncated packet. Every
//! poll of the driver and every decode runs under `catch_unwind`, so a panic
//! becomes [`BinlogError::Panicked`] and the stream refuses further reads
//! ([`BinlogError::Failed`]). This relies on `panic = "unwind"` (the default;
//! do not set `panic = "abort"` for binaries using this module).

use std::future::poll_fn;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures::Stream;
use mysql_async::binlog::events::Event;
use mysql_async::binlog::BinlogChecksumAlg;
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;

use super::error::BinlogError;
use super::events::{
    decode, BinlogEvent, EventKind, EventPosition, Tables, FORMAT_DESCRIPTION, ROTATE,
    TRANSACTION_PAYLOAD,
};
use super::gtid_set::MySqlGtidSet;
use super::position::{FilePosition, MariaGtidList};
use super::server::{Flavor, ServerSettings};

/// Where the dump starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// MariaDB: after these GTIDs (the empty list = from the oldest binlog).
    MariaDbGtids(MariaGtidList),
    /// MySQL: every transaction not in this set.
    MySqlGtids(MySqlGtidSet),
    /// The event at `pos` of `file` (`row` is the caller's business).
    File(FilePosition),
}

/// How to open the dump.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// This replica's server id: unique among the source's replicas, ≠ its own.
    pub replica_server_id: u32,
    /// How often the server sends a HEARTBEAT when idle (zero = never).
    pub heartbeat: Duration,
    /// Where to start.
    pub start: StartPosition,
}

/// The byte length of a CRC32 checksum footer.
const CRC_LEN: usize = 4;

/// A binlog dump yielding decoded, checksum-verified events.
pub struct BinlogEvents {
    inner: Option<Pin<Box<mysql_async::BinlogStream>>>,
    flavor: Flavor,
    /// The server writes CRC32 checksums (`@@binlog_checksum`).
    server_crc32: bool,
    file: String,
    pos: u64,
    seen_format_description: bool,
    tables: Tables,
    /// The position of a non-empty TRANSACTION_PAYLOAD whose expansion must follow.
    expect_payload: Option<EventPosition>,
    /// The enclosing TRANSACTION_PAYLOAD's position while reading its events.
    payload_at: Option<EventPosition>,
}

impl std::fmt::Debug for BinlogEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinlogEvents")
            .field("flavor", &self.flavor)
            .field("file", &self.file)
            .field("pos", &self.pos)
            .field("open", &self.inner.is_some())
            .finish()
    }
}

impl BinlogEvents {
    /// Connects with `opts` (a user with `REPLICATION SLAVE`) and requests the
    /// dump. `settings` are the source's, read and validated beforehand
    /// ([`super::read_settings`], [`super::validate`]).
    pub async fn open(
        opts: mysql_async::Opts,
        settings: &ServerSettings,
        options: &StreamOptions,
    ) -> Result<BinlogEvents, BinlogError> {
        let sql = |context: String| move |source| BinlogError::Sql { context, source };
        let mut conn = mysql_async::Conn::new(opts)
            .await
            .map_err(sql("connect for the binlog dump".into()))?;
        let mut setup = vec![format!(
            "SET @master_heartbeat_period = {}",
            options.heartbeat.as_nanos()
        )];
        let flavor = settings.flavor;
        if flavor == Flavor::MariaDb {
            setup.push("SET @mariadb_slave_capability = 4".into());
        }
        let mut file = String::new();
        let mut pos = 4;
        match &options.start {
            StartPosition::MariaDbGtids(list) => {
                if flavor != Flavor::MariaDb {
                    return Err(BinlogError::Setting {
                        name: "start position".into(),
                        reason: format!("MariaDB GTIDs {list} given for a {flavor} server"),
                    });
                }
                setup.push(format!("SET @slave_connect_state = '{list}'"));
                setup.push("SET @slave_gtid_strict_mode = 1".into());
            }
            StartPosition::MySqlGtids(_) => {
                if flavor != Flavor::MySql {
                    return Err(BinlogError::Setting {
                        name: "start position".into(),
                        reason: format!("a MySQL GTID set given for a {flavor} server"),
                    });
                }
            }
            StartPosition::File(at) => {
                file.clone_from(&at.file);
                pos = at.pos;
            }
        }
        for statement in &setup {
            conn.query_drop(statement)
                .await
                .map_err(sql(statement.clone()))?;
        }
        let sids = match &options.start {
            StartPosition::MySqlGtids(set) => {
                Some(set.to_sids().map_err(|e| BinlogError::Setting {
                    name: "start position".into(),
                    reason: e.to_string(),
                })?)
            }
            _ => None,
        };
        let mut request = BinlogStreamRequest::new(options.replica_server_id)
            .with_filename(file.as_bytes())
            .with_pos(pos);
        if let Some(sids) = sids {
            request = request.with_gtid().with_gtid_set(sids);
        }
        let stream = conn.get_binlog_stream(request).await.map_err(sql(format!(
            "request the binlog dump from {:?}",
            options.start
        )))?;
        Ok(BinlogEvents {
            inner: Some(Box::pin(stream)),
            flavor,
            server_crc32: settings.binlog_checksum == "CRC32",
            file,
            pos,
            seen_format_description: false,
            tables: Tables::default(),
            expect_payload: None,
            payload_at: None,
        })
    }

    /// The server family.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The position after the last event read (the next event's start).
    pub fn position(&self) -> FilePosition {
        FilePosition::new(self.file.clone(), self.pos)
    }

    /// The next event. Errors are final: the stream is closed and later calls
    /// return [`BinlogError::Failed`].
    pub async fn next(&mut self) -> Result<BinlogEvent, BinlogError> {
        let result = self.read_one().await;
        if result.is_err() {
            self.inner = None;
        }
        result
    }

    /// Closes the dump connection.
    pub async fn close(mut self) -> Result<(), BinlogError> {
        if let Some(inner) = self.inner.take() {
            Pin::into_inner(inner)
                .close()
                .await
                .map_err(|source| BinlogError::Sql {
                    context: "close the binlog dump".into(),
                    source,
                })?;
        }
        Ok(())
    }

    async fn read_one(&mut self) -> Result<BinlogEvent, BinlogError> {
        let at = self.position();
        let Some(inner) = self.inner.as_mut() else {
            return Err(BinlogError::Failed { at });
        };
        let polled =
            poll_fn(
                |cx| match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_next(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(item)) => Poll::Ready(Ok(item)),
                    Err(panic) => Poll::Ready(Err(panic_message(panic.as_ref()))),
                },
            )
            .await;
        let event = match polled {
            Err(message) => return Err(BinlogError::Panicked { at, message }),
            Ok(None) => return Err(BinlogError::Ended { at }),
            Ok(Some(Err(source))) => {
                return Err(BinlogError::Sql {
                    context: format!("read the binlog after {at}"),
                    source,
                })
            }
            Ok(Some(Ok(event))) => event,
        };
        guarded(at, || self.accept(&event))
    }

    /// Verifies, positions and decodes one raw event.
    fn accept(&mut self, event: &Event) -> Result<BinlogEvent, BinlogError> {
        let header = event.header();
        let code = header.event_type_raw();
        let inside_payload = !event.footer().get_checksum_enabled();
        if let Some(payload) = self.expect_payload.take() {
            if !inside_payload {
                return Err(BinlogError::Decode {
                    what: "TRANSACTION_PAYLOAD event".into(),
                    at: payload.start(),
                    reason: "its non-empty payload expanded to no events (the driver drops \
                             decompression errors)"
                        .into(),
                });
            }
        }
        if !inside_payload {
            self.payload_at = None;
        }
        let at = self.event_position(event, inside_payload);

        let mut artificial_rotate_name = None;
        if code == ROTATE && !self.seen_format_description {
            artificial_rotate_name = Some(self.first_rotate_name(event, &at)?);
        } else if !inside_payload {
            verify_checksum(event, &at)?;
        }
        if code == FORMAT_DESCRIPTION {
            self.seen_format_description = true;
        }

        let mut kind = decode(event, &at, &mut self.tables)?;
        if let (EventKind::Rotate { file, .. }, Some(name)) = (&mut kind, artificial_rotate_name) {
            *file = name;
        }
        match &kind {
            EventKind::Rotate { file, pos, .. } => {
                self.file.clone_from(file);
                self.pos = *pos;
                self.tables.clear();
            }
            EventKind::TransactionPayload { uncompressed_size } if code == TRANSACTION_PAYLOAD => {
                if *uncompressed_size > 0 {
                    self.expect_payload = Some(at.clone());
                }
                self.payload_at = Some(at.clone());
            }
            _ => {}
        }
        Ok(BinlogEvent { at, kind })
    }

    /// Computes an event's position and advances the tracked position.
    fn event_position(&mut self, event: &Event, inside_payload: bool) -> EventPosition {
        let header = event.header();
        let end = u64::from(header.log_pos());
        let size = u64::from(header.event_size());
        let is_heartbeat = header.event_type_raw() == 27;
        let (start_pos, end_pos) = if inside_payload {
            match &self.payload_at {
                Some(payload) => (payload.start_pos, payload.end_pos),
                None => (self.pos, self.pos),
            }
        } else if end == 0 || is_heartbeat || end < size {
            (self.pos, self.pos)
        } else {
            self.pos = end;
            (end - size, end)
        };
        EventPosition {
            file: self.file.clone(),
            start_pos,
            end_pos,
            server_id: header.server_id(),
            timestamp: header.timestamp(),
        }
    }

    /// The first ROTATE arrives before the FORMAT_DESCRIPTION announcing
    /// checksums, so mysql_common leaves its CRC32 in the body: verify it and
    /// return the file name without it.
    fn first_rotate_name(&self, event: &Event, at: &EventPosition) -> Result<String, BinlogError> {
        let data = event.data();
        // Rotate body: position u64, then the name.
        const POS_LEN: usize = 8;
        if !self.server_crc32 || event.checksum().is_some() {
            let name = data.get(POS_LEN..).unwrap_or_default();
            return Ok(String::from_utf8_lossy(name).into_owned());
        }
        if data.len() < POS_LEN + CRC_LEN {
            return Err(BinlogError::Decode {
                what: "ROTATE event".into(),
                at: at.start(),
                reason: format!("body of {} bytes is too short", data.len()),
            });
        }
        let (body, crc) = data.split_at(data.len() - CRC_LEN);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&header_bytes(event));
        hasher.update(body);
        let computed = hasher.finalize();
        if stored != computed {
            return Err(BinlogError::Checksum {
                event_type: ROTATE,
                at: at.start(),
                stored,
                computed,
            });
        }
        Ok(String::from_utf8_lossy(&body[POS_LEN..]).into_owned())
    }
}

/// The 19-byte v4 event header as it was on the wire.
fn header_bytes(event: &Event) -> Vec<u8> {
    let h = event.header();
    let mut bytes = Vec::with_capacity(19);
    bytes.extend_from_slice(&h.timestamp().to_le_bytes());
    bytes.push(h.event_type_raw());
    bytes.extend_from_slice(&h.server_id().to_le_bytes());
    bytes.extend_from_slice(&h.event_size().to_le_bytes());
    bytes.extend_from_slice(&h.log_pos().to_le_bytes());
    bytes.extend_from_slice(&h.flags_raw().to_le_bytes());
    bytes
}

/// Compares the event's stored CRC32 with the one computed over its bytes.
fn verify_checksum(event: &Event, at: &EventPosition) -> Result<(), BinlogError> {
    let alg = event
        .footer()
        .get_checksum_alg()
        .map_err(|e| BinlogError::Decode {
            what: format!(
                "checksum algorithm of event type {}",
                event.header().event_type_raw()
            ),
            at: at.start(),
            reason: e.to_string(),
        })?;
    if alg != Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32) {
        return Ok(());
    }
    let Some(stored) = event.checksum() else {
        return Err(BinlogError::Decode {
            what: format!("event type {}", event.header().event_type_raw()),
            at: at.start(),
            reason: "CRC32 checksums are on but the event carries none".into(),
        });
    };
    let stored = u32::from_le_bytes(stored);
    let computed = event.calc_checksum(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32);
    if stored != computed {
        return Err(BinlogError::Checksum {
            event_type: event.header().event_type_raw(),
            at: at.start(),
            stored,
            computed,
        });
    }
    Ok(())
}

/// Verifies and decodes raw binlog events (v4 header, body, CRC32 footer) exactly as a dump
/// does after its FORMAT_DESCRIPTION: `Event::read`, checksum, position, decoding with the
/// TABLE_MAP state carried from one event to the next. An error ends its event, not the
/// sequence. For the fuzz targets and property tests only: unlike a dump it does not catch
/// panics, so any panic of the decoding surfaces.
#[doc(hidden)]
pub fn decode_raw_events(
    flavor: Flavor,
    events: &[&[u8]],
) -> Vec<Result<BinlogEvent, BinlogError>> {
    use mysql_async::binlog::events::{BinlogEventFooter, FormatDescriptionEvent};
    use mysql_async::binlog::BinlogVersion;
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4).with_footer(
        BinlogEventFooter::new(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32),
    );
    let mut stream = BinlogEvents {
        inner: None,
        flavor,
        server_crc32: true,
        file: "binlog.000001".into(),
        pos: 4,
        seen_format_description: true,
        tables: Tables::default(),
        expect_payload: None,
        payload_at: None,
    };
    events
        .iter()
        .map(|bytes| {
            let event = Event::read(&fde, *bytes).map_err(|e| BinlogError::Decode {
                what: "event".into(),
                at: stream.position(),
                reason: e.to_string(),
            })?;
            stream.accept(&event)
        })
        .collect()
}

/// Runs `f`, turning a panic into [`BinlogError::Panicked`] after `at`.
fn guarded<T>(
    at: FilePosition,
    f: impl FnOnce() -> Result<T, BinlogError>,
) -> Result<T, BinlogError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(BinlogError::Panicked {
            at,
            message: panic_message(panic.as_ref()),
        })
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
