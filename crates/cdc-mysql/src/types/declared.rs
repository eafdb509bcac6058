//! Reading the parts of a declared type: integer widths, decimal precision and scale,
//! character lengths, fractional-second precision, ENUM/SET members, custom type names.

use cdc_model::ColumnType;
use sqlparser::ast::{CharacterLength, DataType, EnumMember, ExactNumberInfo, ObjectName};

use super::charset::Charset;
use super::column::Kind;
use super::meta::Shape;
use super::TypeError;

pub(super) fn int(bytes: u8, unsigned: bool) -> (ColumnType, Kind) {
    // Debezium 3.6's DDL parsers map TINYINT to `Types.SMALLINT`, so signed TINYINT is Connect
    // int16 like TINYINT UNSIGNED (`BinlogUnsignedIntegerIT.assertTinyintUnsigned`, column c3;
    // int8 only from 3.7.0, debezium/dbz#2235). Unsigned types widen to the next Connect integer
    // (SMALLINT UNSIGNED → int32, INT UNSIGNED → int64).
    let ty = match (bytes, unsigned) {
        (1, _) | (2, false) => ColumnType::Int16,
        (2, true) | (3, _) | (4, false) => ColumnType::Int32,
        _ => ColumnType::Int64,
    };
    (ty, Kind::Integer { bytes, unsigned })
}

pub(super) fn decimal(
    sh: &mut Shape,
    jdbc_type: i32,
    type_name: &str,
    info: &ExactNumberInfo,
    invalid: &dyn Fn(String) -> TypeError,
) -> Result<(ColumnType, Kind), TypeError> {
    // MySQL: DECIMAL = DECIMAL(10,0), DECIMAL(M) = DECIMAL(M,0); M ≤ 65, D ≤ 30, D ≤ M.
    let (precision, scale) = match info {
        ExactNumberInfo::None => (10, 0),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    let (Ok(precision), Ok(scale)) = (u32::try_from(precision), u32::try_from(scale)) else {
        return Err(invalid(format!(
            "precision {precision} / scale {scale} out of range"
        )));
    };
    if precision == 0 || precision > 65 || scale > 30 || scale > precision {
        return Err(invalid(format!(
            "DECIMAL({precision},{scale}) is outside MySQL's limits"
        )));
    }
    *sh = Shape::new(jdbc_type, type_name, Some(precision));
    sh.scale = Some(scale);
    Ok((
        ColumnType::Decimal {
            precision: Some(precision),
            scale,
        },
        Kind::Decimal,
    ))
}

pub(super) fn text(
    charset: Option<&str>,
    column: &str,
    data_type: &DataType,
) -> Result<(ColumnType, Kind), TypeError> {
    let cs =
        Charset::from_name(charset.unwrap_or("utf8mb4")).ok_or_else(|| TypeError::Invalid {
            column: column.to_owned(),
            data_type: data_type.to_string(),
            reason: format!(
                "character set {} is not supported",
                charset.unwrap_or_default()
            ),
        })?;
    Ok((ColumnType::String, Kind::Text(cs)))
}

pub(super) fn binary(pad_to: Option<u32>) -> (ColumnType, Kind) {
    (
        ColumnType::Bytes,
        Kind::Binary {
            pad_to: pad_to.map(|n| n as usize),
        },
    )
}

pub(super) fn geometry(point: bool) -> (ColumnType, Kind) {
    let ty = if point {
        ColumnType::Point
    } else {
        ColumnType::Geometry
    };
    (ty, Kind::Geometry)
}

pub(super) fn char_len(n: &Option<CharacterLength>) -> Option<u32> {
    match n {
        Some(CharacterLength::IntegerLength { length, .. }) => {
            Some(u32::try_from(*length).unwrap_or(u32::MAX))
        }
        _ => None,
    }
}

pub(super) fn fsp_of(
    fsp: &Option<u64>,
    invalid: &dyn Fn(String) -> TypeError,
) -> Result<u8, TypeError> {
    match *fsp {
        None => Ok(0),
        Some(n @ 0..=6) => Ok(n as u8),
        Some(n) => Err(invalid(format!(
            "fractional-second precision {n} exceeds 6"
        ))),
    }
}

pub(super) fn fsp_len(fsp: u8) -> Option<u32> {
    (fsp > 0).then_some(u32::from(fsp))
}

pub(super) fn blob_name(data_type: &DataType) -> String {
    match data_type {
        DataType::TinyBlob | DataType::TinyText => "TINYBLOB",
        DataType::MediumBlob | DataType::MediumText => "MEDIUMBLOB",
        DataType::LongBlob | DataType::LongText => "LONGBLOB",
        _ => "BLOB",
    }
    .to_owned()
}

/// Members as Debezium's MySQL connector lists them in the `allowed` parameter
/// (`EnumeratedValues.toCommaSeparatedString`): `\` and `,` escaped with a backslash.
pub(super) fn escaped(labels: &[String]) -> Vec<String> {
    labels
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace(',', "\\,"))
        .collect()
}

pub(super) fn enum_labels(members: &[EnumMember]) -> Vec<String> {
    members
        .iter()
        .map(|m| match m {
            EnumMember::Name(name) | EnumMember::NamedValue(name, _) => name.clone(),
        })
        .collect()
}

pub(super) fn custom_name(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|part| part.to_string().trim_matches('`').to_ascii_uppercase())
        .unwrap_or_default()
}
