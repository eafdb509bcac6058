//! Decoder for the pgoutput logical replication protocol, version 1.
//!
//! `pgwire-replication` already parses Begin, Commit and Message; every other pgoutput
//! message arrives as raw XLogData bytes and is decoded here. All reads are bounds-checked:
//! malformed input yields [`DecodeError`], never a panic.

use bytes::Bytes;

/// Why a pgoutput message could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("pgoutput message truncated: needed {needed} more bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("pgoutput string at offset {0} is not NUL-terminated")]
    UnterminatedString(usize),
    #[error("pgoutput string at offset {0} is not valid UTF-8")]
    InvalidUtf8(usize),
    #[error("unexpected byte {found:#04x} at offset {offset}, expected {expected}")]
    Unexpected {
        offset: usize,
        found: u8,
        expected: &'static str,
    },
    #[error("negative length {len} at offset {offset}")]
    NegativeLength { offset: usize, len: i32 },
    #[error("empty pgoutput message")]
    Empty,
}

/// A column of a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity key (flag bit 1).
    pub is_key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// One column of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TupleValue {
    Null,
    /// Unchanged TOASTed value: not sent.
    UnchangedToast,
    Text(Bytes),
    Binary(Bytes),
}

/// Old-row image kind of Update/Delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKind {
    /// `K`: replica identity key columns only (others null).
    Key,
    /// `O`: the full old row (REPLICA IDENTITY FULL).
    Full,
}

impl OldKind {
    /// The old-image kind announced by a tuple marker byte, if it is one.
    fn from_marker(marker: u8) -> Option<OldKind> {
        match marker {
            b'K' => Some(OldKind::Key),
            b'O' => Some(OldKind::Full),
            _ => None,
        }
    }
}

/// A decoded pgoutput message (those not handled by `pgwire-replication`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgOutputMessage {
    Relation {
        rel_id: u32,
        namespace: String,
        name: String,
        replica_identity: u8,
        columns: Vec<RelationColumn>,
    },
    Insert {
        rel_id: u32,
        new: Vec<TupleValue>,
    },
    Update {
        rel_id: u32,
        old: Option<(OldKind, Vec<TupleValue>)>,
        new: Vec<TupleValue>,
    },
    Delete {
        rel_id: u32,
        old: (OldKind, Vec<TupleValue>),
    },
    Truncate {
        options: u8,
        rel_ids: Vec<u32>,
    },
    Type {
        oid: u32,
        namespace: String,
        name: String,
    },
    Origin {
        lsn: u64,
        name: String,
    },
    /// A message type this decoder does not know (e.g. from a newer protocol version).
    Unknown(u8),
}

/// Decodes one pgoutput message.
pub fn decode(data: &[u8]) -> Result<PgOutputMessage, DecodeError> {
    let mut r = Reader { data, pos: 0 };
    let tag = r.u8().map_err(|_| DecodeError::Empty)?;
    Ok(match tag {
        b'R' => {
            let rel_id = r.u32()?;
            let namespace = r.string()?;
            let name = r.string()?;
            let replica_identity = r.u8()?;
            let n = r.u16()?;
            let mut columns = Vec::with_capacity(usize::from(n).min(r.remaining()));
            for _ in 0..n {
                let flags = r.u8()?;
                columns.push(RelationColumn {
                    is_key: flags & 1 == 1,
                    name: r.string()?,
                    type_oid: r.u32()?,
                    type_modifier: r.i32()?,
                });
            }
            PgOutputMessage::Relation {
                rel_id,
                namespace,
                name,
                replica_identity,
                columns,
            }
        }
        b'I' => {
            let rel_id = r.u32()?;
            r.expect(b'N', "'N'")?;
            PgOutputMessage::Insert {
                rel_id,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let rel_id = r.u32()?;
            let offset = r.pos;
            let marker = r.u8()?;
            let old = match OldKind::from_marker(marker) {
                Some(kind) => {
                    let tuple = r.tuple()?;
                    r.expect(b'N', "'N'")?;
                    Some((kind, tuple))
                }
                None if marker == b'N' => None,
                None => {
                    return Err(DecodeError::Unexpected {
                        offset,
                        found: marker,
                        expected: "'K', 'O' or 'N'",
                    })
                }
            };
            PgOutputMessage::Update {
                rel_id,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let rel_id = r.u32()?;
            let offset = r.pos;
            let marker = r.u8()?;
            let kind = OldKind::from_marker(marker).ok_or(DecodeError::Unexpected {
                offset,
                found: marker,
                expected: "'K' or 'O'",
            })?;
            PgOutputMessage::Delete {
                rel_id,
                old: (kind, r.tuple()?),
            }
        }
        b'T' => {
            let n = r.u32()?;
            let options = r.u8()?;
            let mut rel_ids = Vec::with_capacity((n as usize).min(r.remaining() / 4));
            for _ in 0..n {
                rel_ids.push(r.u32()?);
            }
            PgOutputMessage::Truncate { options, rel_ids }
        }
        b'Y' => PgOutputMessage::Type {
            oid: r.u32()?,
            namespace: r.string()?,
            name: r.string()?,
        },
        b'O' => PgOutputMessage::Origin {
            lsn: r.u64()?,
            name: r.string()?,
        },
        other => PgOutputMessage::Unknown(other),
    })
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let slice = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), DecodeError> {
        let offset = self.pos;
        match self.u8()? {
            b if b == byte => Ok(()),
            found => Err(DecodeError::Unexpected {
                offset,
                found,
                expected,
            }),
        }
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let start = self.pos;
        let rest = &self.data[self.pos..];
        let nul = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::UnterminatedString(start))?;
        let s = std::str::from_utf8(&rest[..nul]).map_err(|_| DecodeError::InvalidUtf8(start))?;
        self.pos += nul + 1;
        Ok(s.to_owned())
    }

    fn tuple(&mut self) -> Result<Vec<TupleValue>, DecodeError> {
        let n = self.u16()?;
        let mut values = Vec::with_capacity(usize::from(n).min(self.remaining()));
        for _ in 0..n {
            let offset = self.pos;
            values.push(match self.u8()? {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::UnchangedToast,
                kind @ (b't' | b'b') => {
                    let len_offset = self.pos;
                    let len = self.i32()?;
                    let len = usize::try_from(len).map_err(|_| DecodeError::NegativeLength {
                        offset: len_offset,
                        len,
                    })?;
                    let bytes = Bytes::copy_from_slice(self.take(len)?);
                    if kind == b't' {
                        TupleValue::Text(bytes)
                    } else {
                        TupleValue::Binary(bytes)
                    }
                }
                found => {
                    return Err(DecodeError::Unexpected {
                        offset,
                        found,
                        expected: "'n', 'u', 't' or 'b'",
                    })
                }
            });
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation_bytes() -> Vec<u8> {
        let mut b = vec![b'R'];
        b.extend(16384u32.to_be_bytes());
        b.extend(b"public\0customers\0");
        b.push(b'd');
        b.extend(2u16.to_be_bytes());
        b.push(1);
        b.extend(b"id\0");
        b.extend(23u32.to_be_bytes());
        b.extend((-1i32).to_be_bytes());
        b.push(0);
        b.extend(b"email\0");
        b.extend(25u32.to_be_bytes());
        b.extend((-1i32).to_be_bytes());
        b
    }

    fn update_bytes() -> Vec<u8> {
        let mut b = vec![b'U'];
        b.extend(16384u32.to_be_bytes());
        b.push(b'K');
        b.extend(2u16.to_be_bytes());
        b.push(b't');
        b.extend(1i32.to_be_bytes());
        b.push(b'1');
        b.push(b'n');
        b.push(b'N');
        b.extend(2u16.to_be_bytes());
        b.push(b't');
        b.extend(2i32.to_be_bytes());
        b.extend(b"10");
        b.push(b'u');
        b
    }

    #[test]
    fn decodes_relation() {
        let msg = decode(&relation_bytes()).unwrap();
        let PgOutputMessage::Relation {
            rel_id,
            namespace,
            name,
            columns,
            ..
        } = msg
        else {
            panic!("not a relation: {msg:?}");
        };
        assert_eq!(
            (rel_id, namespace.as_str(), name.as_str()),
            (16384, "public", "customers")
        );
        assert_eq!(columns.len(), 2);
        assert!(columns[0].is_key && !columns[1].is_key);
        assert_eq!(columns[1].type_oid, 25);
    }

    #[test]
    fn decodes_update_with_key_image() {
        let msg = decode(&update_bytes()).unwrap();
        assert_eq!(
            msg,
            PgOutputMessage::Update {
                rel_id: 16384,
                old: Some((
                    OldKind::Key,
                    vec![TupleValue::Text(Bytes::from_static(b"1")), TupleValue::Null]
                )),
                new: vec![
                    TupleValue::Text(Bytes::from_static(b"10")),
                    TupleValue::UnchangedToast
                ],
            }
        );
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        for valid in [relation_bytes(), update_bytes()] {
            for cut in 0..valid.len() {
                assert!(decode(&valid[..cut]).is_err(), "cut at {cut}");
            }
            for i in 0..valid.len() {
                for flip in [0x00, 0xff, 0x80, b'x'] {
                    let mut bad = valid.clone();
                    bad[i] = flip;
                    let _ = decode(&bad); // must not panic
                }
            }
        }
        // A huge declared length must not allocate or panic.
        let mut b = vec![b'I'];
        b.extend(1u32.to_be_bytes());
        b.push(b'N');
        b.extend(u16::MAX.to_be_bytes());
        b.push(b't');
        b.extend(i32::MAX.to_be_bytes());
        assert!(matches!(decode(&b), Err(DecodeError::Truncated { .. })));
    }
}
