//! PostgreSQL types → model column types. Types are resolved through the catalog (see
//! `table::load_columns`): domains to their base type and type modifier, arrays to their
//! element type, enums with their labels, and extension types (`hstore`, `ltree`, `citext`,
//! PostGIS `geometry`/`geography`) by name, since their oids differ per database.
//!
//! Text parsing of values lives in [`crate::pgtext`].

use cdc_model::ColumnType;

pub use crate::pgtext::SESSION_SETTINGS;

mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const POINT: u32 = 600;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const MACADDR8: u32 = 774;
    pub const MONEY: u32 = 790;
    pub const MACADDR: u32 = 829;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const TSVECTOR: u32 = 3614;
    pub const JSONB: u32 = 3802;
    pub const INT4RANGE: u32 = 3904;
    pub const NUMRANGE: u32 = 3906;
    pub const TSRANGE: u32 = 3908;
    pub const TSTZRANGE: u32 = 3910;
    pub const DATERANGE: u32 = 3912;
    pub const INT8RANGE: u32 = 3926;
}

/// A scalar PostgreSQL type as the catalog describes it (domains already resolved).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PgScalar {
    pub oid: u32,
    /// `pg_type.typname`; empty when unknown (types named only by oid).
    pub name: String,
    /// Labels in `enumsortorder` order when the type is an enum.
    pub enum_labels: Option<Vec<String>>,
}

/// A column's type: the scalar (or the array's element) and the effective type modifier.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PgType {
    pub scalar: PgScalar,
    /// Set for array types: the element type (`scalar` is then the array type itself).
    pub element: Option<PgScalar>,
    pub typmod: i32,
}

impl PgType {
    /// A built-in type known only by oid and modifier (no catalog lookup).
    pub fn builtin(oid: u32, typmod: i32) -> PgType {
        PgType {
            scalar: PgScalar {
                oid,
                ..PgScalar::default()
            },
            element: None,
            typmod,
        }
    }
}

/// The column type Debezium 3.6 maps `ty` to, or `None` when it does not map it (such
/// columns are left out of events, as Debezium does with `include.unknown.datatypes=false`).
pub fn column_type(ty: &PgType) -> Option<ColumnType> {
    match &ty.element {
        Some(element) => {
            let element_type = scalar_type(element, ty.typmod)?;
            array_supported(element, &element_type)
                .then(|| ColumnType::Array(Box::new(element_type)))
        }
        None => scalar_type(&ty.scalar, ty.typmod),
    }
}

/// The array element types Debezium's PostgreSQL connector converts (`money[]`, `name[]`,
/// `interval[]`, `varbit[]`, `xml[]`, `point[]`, … are not).
fn array_supported(element: &PgScalar, ty: &ColumnType) -> bool {
    matches!(
        element.oid,
        oid::INT2
            | oid::INT4
            | oid::INT8
            | oid::OID
            | oid::TEXT
            | oid::VARCHAR
            | oid::BPCHAR
            | oid::INET
            | oid::CIDR
            | oid::MACADDR
            | oid::INT4RANGE
            | oid::INT8RANGE
            | oid::NUMRANGE
            | oid::TSRANGE
            | oid::TSTZRANGE
            | oid::DATERANGE
            | oid::NUMERIC
            | oid::FLOAT4
            | oid::FLOAT8
            | oid::BOOL
            | oid::DATE
            | oid::TIME
            | oid::TIMETZ
            | oid::TIMESTAMP
            | oid::TIMESTAMPTZ
            | oid::UUID
            | oid::JSON
            | oid::JSONB
            | oid::BYTEA
    ) || matches!(
        ty,
        ColumnType::Enum { .. } | ColumnType::Hstore | ColumnType::Ltree
    ) || matches!(element.name.as_str(), "citext" | "geometry" | "geography")
}

/// Whether Debezium has an unchanged-TOAST placeholder for a column of this type: every
/// non-array type, and arrays of text, varchar, bpchar, json, jsonb, bytea, int4, date, int8
/// and uuid (`UnchangedToastedReplicationMessageColumn`); other arrays become null.
pub fn has_toast_placeholder(ty: &PgType) -> bool {
    ty.element.as_ref().is_none_or(|e| {
        matches!(
            e.oid,
            oid::TEXT
                | oid::VARCHAR
                | oid::BPCHAR
                | oid::JSON
                | oid::JSONB
                | oid::BYTEA
                | oid::INT4
                | oid::DATE
                | oid::INT8
                | oid::UUID
        )
    })
}

fn scalar_type(s: &PgScalar, typmod: i32) -> Option<ColumnType> {
    if let Some(labels) = &s.enum_labels {
        return Some(ColumnType::Enum {
            allowed: labels.clone(),
        });
    }
    Some(match s.oid {
        oid::BOOL => ColumnType::Boolean,
        oid::INT2 => ColumnType::Int16,
        oid::INT4 => ColumnType::Int32,
        oid::INT8 | oid::OID => ColumnType::Int64,
        oid::FLOAT4 => ColumnType::Float32,
        oid::FLOAT8 => ColumnType::Float64,
        oid::NUMERIC if typmod >= 4 => {
            let t = typmod - 4;
            ColumnType::Decimal {
                precision: Some(((t >> 16) & 0xffff) as u32),
                scale: (t & 0xffff) as u32,
            }
        }
        oid::NUMERIC => ColumnType::VariableDecimal,
        oid::MONEY => ColumnType::Money,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR => ColumnType::String,
        oid::INET | oid::CIDR | oid::MACADDR | oid::MACADDR8 => ColumnType::String,
        oid::INT4RANGE
        | oid::INT8RANGE
        | oid::NUMRANGE
        | oid::TSRANGE
        | oid::TSTZRANGE
        | oid::DATERANGE => ColumnType::String,
        oid::JSON | oid::JSONB => ColumnType::Json,
        oid::XML => ColumnType::Xml,
        oid::UUID => ColumnType::Uuid,
        oid::TSVECTOR => ColumnType::Tsvector,
        oid::BYTEA => ColumnType::Bytes,
        // bit(1) and varbit(1) are booleans; varbit without a length has 2^31-1 bits.
        oid::BIT | oid::VARBIT if typmod == 1 => ColumnType::Boolean,
        oid::BIT => ColumnType::Bits {
            length: u32::try_from(typmod).unwrap_or(1),
        },
        oid::VARBIT => ColumnType::Bits {
            length: u32::try_from(typmod).unwrap_or(i32::MAX as u32),
        },
        oid::DATE => ColumnType::Date,
        oid::TIME => ColumnType::Time {
            precision: fractional_digits(typmod),
        },
        oid::TIMETZ => ColumnType::TimeTz,
        oid::TIMESTAMP => ColumnType::Timestamp {
            precision: fractional_digits(typmod),
        },
        oid::TIMESTAMPTZ => ColumnType::TimestampTz {
            precision: Some(fractional_digits(typmod)),
        },
        oid::INTERVAL => ColumnType::Interval,
        oid::POINT => ColumnType::Point,
        _ => match s.name.as_str() {
            "citext" => ColumnType::String,
            "hstore" => ColumnType::Hstore,
            "ltree" => ColumnType::Ltree,
            "geometry" => ColumnType::Geometry,
            "geography" => ColumnType::Geography,
            _ => return None,
        },
    })
}

fn fractional_digits(typmod: i32) -> u8 {
    if (0..=6).contains(&typmod) {
        typmod as u8
    } else {
        6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(oid: u32, name: &str) -> PgScalar {
        PgScalar {
            oid,
            name: name.into(),
            enum_labels: None,
        }
    }

    #[test]
    fn maps_types_with_modifiers() {
        let b = |oid, typmod| column_type(&PgType::builtin(oid, typmod));
        assert_eq!(
            b(1700, (10 << 16) + 2 + 4),
            Some(ColumnType::Decimal {
                precision: Some(10),
                scale: 2
            })
        );
        assert_eq!(b(1700, -1), Some(ColumnType::VariableDecimal));
        assert_eq!(b(1114, 3), Some(ColumnType::Timestamp { precision: 3 }));
        assert_eq!(b(1114, -1), Some(ColumnType::Timestamp { precision: 6 }));
        assert_eq!(
            b(1184, 0),
            Some(ColumnType::TimestampTz { precision: Some(0) })
        );
        assert_eq!(b(1083, 3), Some(ColumnType::Time { precision: 3 }));
        assert_eq!(b(1560, 1), Some(ColumnType::Boolean));
        assert_eq!(b(1560, 10), Some(ColumnType::Bits { length: 10 }));
        assert_eq!(b(1562, -1), Some(ColumnType::Bits { length: 2147483647 }));
        assert_eq!(b(600, -1), Some(ColumnType::Point));
        assert_eq!(b(603, -1), None); // box: not mapped by Debezium 3.6
    }

    #[test]
    fn maps_extension_enum_and_array_types() {
        let ty = |scalar: PgScalar, element: Option<PgScalar>| {
            column_type(&PgType {
                scalar,
                element,
                typmod: -1,
            })
        };
        assert_eq!(ty(named(90001, "hstore"), None), Some(ColumnType::Hstore));
        assert_eq!(
            ty(named(90002, "geography"), None),
            Some(ColumnType::Geography)
        );
        let mood = PgScalar {
            oid: 90003,
            name: "mood".into(),
            enum_labels: Some(vec!["sad".into(), "ok".into()]),
        };
        assert_eq!(
            ty(mood.clone(), None),
            Some(ColumnType::Enum {
                allowed: vec!["sad".into(), "ok".into()]
            })
        );
        assert_eq!(
            ty(named(1007, "_int4"), Some(named(23, "int4"))),
            Some(ColumnType::Array(Box::new(ColumnType::Int32)))
        );
        assert!(ty(named(90004, "_mood"), Some(mood)).is_some());
        assert_eq!(ty(named(791, "_money"), Some(named(790, "money"))), None);
        assert_eq!(
            ty(named(1187, "_interval"), Some(named(1186, "interval"))),
            None
        );
    }
}
