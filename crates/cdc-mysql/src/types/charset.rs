//! MySQL character sets and the decoding of column bytes into text.
//!
//! Binlog rows carry CHAR/VARCHAR/TEXT values as raw bytes in the column's character set;
//! they are decoded strictly: bytes that are not valid in the character set are an error,
//! never replaced.

use encoding_rs::Encoding;

/// A MySQL character set the converters can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Charset {
    name: &'static str,
    decoding: Decoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoding {
    Utf8,
    Ascii,
    /// MySQL `binary` on a textual column: bytes taken as UTF-8 when valid.
    Binary,
    Encoding(&'static Encoding),
}

/// MySQL names (and Debezium's Java equivalents): `latin1` is Windows-1252 in MySQL, as in
/// Connector/J's `Cp1252` mapping.
const TABLE: &[(&str, Option<&Encoding>)] = &[
    ("latin1", Some(encoding_rs::WINDOWS_1252)),
    ("latin2", Some(encoding_rs::ISO_8859_2)),
    ("latin5", Some(encoding_rs::WINDOWS_1254)),
    ("latin7", Some(encoding_rs::ISO_8859_13)),
    ("cp1250", Some(encoding_rs::WINDOWS_1250)),
    ("cp1251", Some(encoding_rs::WINDOWS_1251)),
    ("cp1256", Some(encoding_rs::WINDOWS_1256)),
    ("cp1257", Some(encoding_rs::WINDOWS_1257)),
    ("greek", Some(encoding_rs::ISO_8859_7)),
    ("hebrew", Some(encoding_rs::ISO_8859_8)),
    ("koi8r", Some(encoding_rs::KOI8_R)),
    ("koi8u", Some(encoding_rs::KOI8_U)),
    ("sjis", Some(encoding_rs::SHIFT_JIS)),
    ("cp932", Some(encoding_rs::SHIFT_JIS)),
    ("ujis", Some(encoding_rs::EUC_JP)),
    ("eucjpms", Some(encoding_rs::EUC_JP)),
    ("euckr", Some(encoding_rs::EUC_KR)),
    ("gbk", Some(encoding_rs::GBK)),
    ("gb2312", Some(encoding_rs::GBK)),
    ("gb18030", Some(encoding_rs::GB18030)),
    ("big5", Some(encoding_rs::BIG5)),
    ("ucs2", Some(encoding_rs::UTF_16BE)),
    ("utf16", Some(encoding_rs::UTF_16BE)),
    ("utf16le", Some(encoding_rs::UTF_16LE)),
];

impl Charset {
    /// The character set named `name` (a MySQL charset name, case-insensitive; a collation
    /// name such as `utf8mb4_0900_ai_ci` resolves to its charset). `None` if unsupported.
    pub(crate) fn from_name(name: &str) -> Option<Charset> {
        let lower = name.trim().to_ascii_lowercase();
        let base = lower.split('_').next().unwrap_or_default();
        let utf8 = |name| Charset {
            name,
            decoding: Decoding::Utf8,
        };
        Some(match base {
            "utf8mb4" => utf8("utf8mb4"),
            "utf8mb3" | "utf8" => utf8("utf8mb3"),
            "ascii" => Charset {
                name: "ascii",
                decoding: Decoding::Ascii,
            },
            "binary" => Charset {
                name: "binary",
                decoding: Decoding::Binary,
            },
            other => {
                let (name, encoding) = TABLE.iter().find(|(n, _)| *n == other)?;
                Charset {
                    name,
                    decoding: Decoding::Encoding((*encoding)?),
                }
            }
        })
    }

    /// The MySQL name of the character set.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// Decodes `bytes`; `Err` describes the first invalid sequence.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<String, String> {
        match self.decoding {
            Decoding::Utf8 | Decoding::Binary => String::from_utf8(bytes.to_vec())
                .map_err(|e| format!("invalid {} bytes: {e}", self.name)),
            Decoding::Ascii => match bytes.iter().position(|b| !b.is_ascii()) {
                Some(i) => Err(format!("byte 0x{:02x} at {i} is not ASCII", bytes[i])),
                None => Ok(String::from_utf8_lossy(bytes).into_owned()),
            },
            Decoding::Encoding(encoding) => encoding
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|text| text.into_owned())
                .ok_or_else(|| format!("bytes are not valid {}", self.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_common_charsets_strictly() {
        let utf8 = Charset::from_name("utf8mb4").unwrap();
        assert_eq!(utf8.decode("żółw ✓".as_bytes()).unwrap(), "żółw ✓");
        assert!(utf8.decode(&[0xff, 0x41]).is_err());
        assert_eq!(Charset::from_name("UTF8").unwrap().name(), "utf8mb3");
        let latin1 = Charset::from_name("latin1_swedish_ci").unwrap();
        // MySQL latin1 is cp1252: 0x80 is the euro sign, 0xe9 é.
        assert_eq!(latin1.decode(&[0x80, 0xe9, b'a']).unwrap(), "€éa");
        let ascii = Charset::from_name("ascii").unwrap();
        assert_eq!(ascii.decode(b"plain").unwrap(), "plain");
        assert!(ascii.decode(&[0xe9]).unwrap_err().contains("0xe9"));
        let sjis = Charset::from_name("sjis").unwrap();
        assert_eq!(sjis.decode(&[0x82, 0xa0]).unwrap(), "あ");
        assert!(Charset::from_name("utf32").is_none());
        assert!(Charset::from_name("klingon").is_none());
    }
}
