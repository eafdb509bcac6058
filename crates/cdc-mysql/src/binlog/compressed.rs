//! MariaDB compressed events (`log_bin_compress=ON`): QUERY_COMPRESSED (165)
//! and the compressed rows events (166–168 v1, 169–171 v2) are rebuilt as the
//! plain events they stand for (QUERY 2, rows 23–25 / 30–32) and then decoded
//! like any other event.
//!
//! Layout (MariaDB `sql/log_event.cc`, `row_log_event_uncompress`,
//! `query_event_uncompress`, `binlog_buf_uncompress`): the event is the plain
//! event's bytes up to where the variable data starts — for rows events after
//! the post-header, the column count and the column bitmap(s); for queries
//! after the status variables, the database name and its NUL — followed by a
//! compressed block: one byte `0b1000_0LLL` (`LLL` = 1..=4 bytes of length;
//! bits 4–6 the algorithm, 0 = zlib), the uncompressed length big-endian in
//! `LLL` bytes, then a zlib stream.

use std::io::Read;

use mysql_async::binlog::events::Event;
use mysql_async::binlog::BinlogChecksumAlg;

/// Rows event post-header v1: table id (6) + flags (2).
const ROWS_HEADER_V1: usize = 8;
/// Rows event post-header v2: v1 + extra-data length (2).
const ROWS_HEADER_V2: usize = 10;
/// Largest expansion accepted (MariaDB's max_allowed_packet ceiling is 1 GiB).
const MAX_EXPANDED: usize = 1 << 30;

/// Rebuilds the compressed event `event` (type 165–171) as its plain form.
pub(crate) fn expand(event: &Event) -> Result<Event, String> {
    let header = event.header();
    let code = header.event_type_raw();
    let body = event.data();
    let fde = event.fde();
    let post_header_len = fde
        .event_type_header_lengths()
        .get(usize::from(code) - 1)
        .copied()
        .map(usize::from)
        .ok_or_else(|| format!("the FORMAT_DESCRIPTION has no header length for type {code}"))?;
    let (plain_code, prefix_len) = match code {
        165 => (2u8, query_prefix_len(body, post_header_len)?),
        166..=168 => (
            code - 166 + 23,
            rows_prefix_len(body, post_header_len, ROWS_HEADER_V1, code == 167)?,
        ),
        169..=171 => (
            code - 169 + 30,
            rows_prefix_len(body, post_header_len, ROWS_HEADER_V2, code == 170)?,
        ),
        _ => return Err(format!("event type {code} is not a compressed event")),
    };
    let expanded = uncompress(&body[prefix_len..])?;

    let crc = matches!(
        event.footer().get_checksum_alg(),
        Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
    ) && event.footer().get_checksum_enabled();
    let size = 19 + prefix_len + expanded.len() + if crc { 4 } else { 0 };
    let size = u32::try_from(size).map_err(|_| format!("expanded event of {size} bytes"))?;
    let mut bytes = Vec::with_capacity(size as usize);
    bytes.extend_from_slice(&header.timestamp().to_le_bytes());
    bytes.push(plain_code);
    bytes.extend_from_slice(&header.server_id().to_le_bytes());
    bytes.extend_from_slice(&size.to_le_bytes());
    bytes.extend_from_slice(&header.log_pos().to_le_bytes());
    bytes.extend_from_slice(&header.flags_raw().to_le_bytes());
    bytes.extend_from_slice(&body[..prefix_len]);
    bytes.extend_from_slice(&expanded);
    if crc {
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
    }
    Event::read(fde, &bytes[..]).map_err(|e| format!("rebuilt event does not parse: {e}"))
}

/// Bytes of a QUERY_COMPRESSED body before the compressed statement.
fn query_prefix_len(body: &[u8], post_header_len: usize) -> Result<usize, String> {
    // thread_id 4, exec_time 4, db_len 1, error_code 2, status_vars_len 2
    if post_header_len < 13 {
        return Err(format!("query post-header of {post_header_len} bytes"));
    }
    let db_len = usize::from(*body.get(8).ok_or("truncated query post-header")?);
    let status_len = usize::from(u16::from_le_bytes([
        *body.get(11).ok_or("truncated query post-header")?,
        *body.get(12).ok_or("truncated query post-header")?,
    ]));
    let prefix = post_header_len + status_len + db_len + 1;
    if prefix > body.len() {
        return Err(format!(
            "truncated: query prefix of {prefix} bytes, body has {}",
            body.len()
        ));
    }
    Ok(prefix)
}

/// Bytes of a compressed rows body before the compressed rows.
fn rows_prefix_len(
    body: &[u8],
    post_header_len: usize,
    expected_header: usize,
    update: bool,
) -> Result<usize, String> {
    if post_header_len != expected_header {
        return Err(format!(
            "rows post-header of {post_header_len} bytes, expected {expected_header}"
        ));
    }
    let mut pos = ROWS_HEADER_V1;
    if expected_header == ROWS_HEADER_V2 {
        let extra = body.get(pos..pos + 2).ok_or("truncated rows post-header")?;
        let extra = usize::from(u16::from_le_bytes([extra[0], extra[1]]));
        if extra < 2 {
            return Err(format!("extra-data length {extra} < 2"));
        }
        pos += extra;
    }
    let (width, width_len) = lenenc(body.get(pos..).ok_or("truncated before column count")?)?;
    pos += width_len;
    let bitmap = usize::try_from(width.div_ceil(8)).map_err(|_| "column count too large")?;
    pos = pos
        .checked_add(bitmap * if update { 2 } else { 1 })
        .ok_or("column count too large")?;
    if pos > body.len() {
        return Err(format!(
            "truncated: rows prefix of {pos} bytes, body has {}",
            body.len()
        ));
    }
    Ok(pos)
}

/// A length-encoded integer: (value, bytes used).
fn lenenc(buf: &[u8]) -> Result<(u64, usize), String> {
    let first = *buf.first().ok_or("truncated length-encoded integer")?;
    let n = match first {
        0..=250 => return Ok((u64::from(first), 1)),
        252 => 2,
        253 => 3,
        254 => 8,
        _ => return Err(format!("invalid length-encoded integer prefix {first:#x}")),
    };
    let bytes = buf
        .get(1..1 + n)
        .ok_or("truncated length-encoded integer")?;
    let mut value = [0u8; 8];
    value[..n].copy_from_slice(bytes);
    Ok((u64::from_le_bytes(value), 1 + n))
}

/// Decompresses one MariaDB compressed block.
fn uncompress(block: &[u8]) -> Result<Vec<u8>, String> {
    let head = *block.first().ok_or("empty compressed block")?;
    if head & 0x80 == 0 || head & 0x70 != 0 {
        return Err(format!(
            "compressed block header {head:#04x}: not zlib (algorithm {})",
            (head >> 4) & 0x07
        ));
    }
    let len_len = usize::from(head & 0x07);
    if !(1..=4).contains(&len_len) {
        return Err(format!("compressed block length of {len_len} bytes"));
    }
    let len_bytes = block
        .get(1..1 + len_len)
        .ok_or("truncated compressed block")?;
    let expected = len_bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if expected > MAX_EXPANDED {
        return Err(format!("compressed block expands to {expected} bytes"));
    }
    let mut out = Vec::with_capacity(expected);
    flate2::read::ZlibDecoder::new(&block[1 + len_len..])
        .take(expected as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zlib: {e}"))?;
    if out.len() != expected {
        return Err(format!(
            "compressed block expanded to {} bytes, header says {expected}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn block(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        let compressed = z.finish().unwrap();
        let len = (data.len() as u32).to_be_bytes();
        let mut out = vec![0x80 | 2];
        out.extend_from_slice(&len[2..]);
        out.extend_from_slice(&compressed);
        out
    }

    #[test]
    fn uncompresses_a_block() {
        let data = b"INSERT INTO t VALUES (1)".repeat(20);
        assert_eq!(uncompress(&block(&data)).unwrap(), data);
    }

    #[test]
    fn bad_blocks_are_errors() {
        let data = b"some data".repeat(10);
        let good = block(&data);
        assert!(uncompress(&[]).is_err());
        assert!(uncompress(&[0x00, 1, 2]).unwrap_err().contains("not zlib"));
        assert!(uncompress(&[0x90, 1, 2]).unwrap_err().contains("not zlib"));
        assert!(uncompress(&[0x85, 1]).is_err());
        for cut in 1..good.len() {
            assert!(uncompress(&good[..cut]).is_err(), "{cut}");
        }
        let mut wrong_len = good.clone();
        wrong_len[2] ^= 1;
        assert!(uncompress(&wrong_len).is_err());
        let mut corrupt = good;
        let last = corrupt.len() - 2;
        corrupt[last] ^= 0xff;
        assert!(uncompress(&corrupt).is_err());
    }

    #[test]
    fn prefixes() {
        // v1 rows: 8 bytes post-header, width 3, one bitmap (two for update).
        let body = [0u8, 0, 0, 0, 0, 0, 0, 0, 3, 0b111, 0b111, 0xAA];
        assert_eq!(rows_prefix_len(&body, 8, 8, false).unwrap(), 10);
        assert_eq!(rows_prefix_len(&body, 8, 8, true).unwrap(), 11);
        assert!(rows_prefix_len(&body[..9], 8, 8, false).is_err());
        assert!(rows_prefix_len(&body, 10, 8, false).is_err());
        // query: post-header 13, status vars 2, db "db" + NUL.
        let mut q = vec![0u8; 13];
        q[8] = 2;
        q[11] = 2;
        q.extend_from_slice(&[9, 9, b'd', b'b', 0, 0x81]);
        assert_eq!(query_prefix_len(&q, 13).unwrap(), 18);
        assert!(query_prefix_len(&q[..16], 13).is_err());
        assert_eq!(lenenc(&[252, 1, 1]).unwrap(), (257, 3));
        assert!(lenenc(&[255]).is_err());
    }
}
