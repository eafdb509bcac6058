//! Handling modes of Debezium's MySQL connector that decide column types and values.

use cdc_model::debezium::{TimePrecisionMode, ValueOptions};
use serde::Deserialize;

use super::TypeError;

/// `bigint.unsigned.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BigIntUnsignedMode {
    /// int64; values of 2^63 and above wrap to negative numbers, as in Debezium.
    #[default]
    Long,
    /// `org.apache.kafka.connect.data.Decimal` with scale 0 and precision 20.
    Precise,
}

/// The modes the MySQL type mapping obeys. `value` holds the modes applied when rendering
/// (`decimal.handling.mode`, `time.precision.mode`, `binary.handling.mode`); the others
/// change column types or values themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlingModes {
    pub value: ValueOptions,
    pub bigint_unsigned_handling_mode: BigIntUnsignedMode,
    /// `enable.time.adjuster` (default true): two-digit years 00–69 become 2000–2069 and
    /// 70–99 become 1970–1999 in YEAR, DATE, DATETIME and TIMESTAMP values.
    pub enable_time_adjuster: bool,
}

impl Default for HandlingModes {
    /// Debezium's MySQL defaults: `time.precision.mode=adaptive_time_microseconds`,
    /// `decimal.handling.mode=precise`, `bigint.unsigned.handling.mode=long`,
    /// `binary.handling.mode=bytes`, `enable.time.adjuster=true`.
    fn default() -> Self {
        HandlingModes {
            value: ValueOptions {
                time_precision_mode: TimePrecisionMode::AdaptiveTimeMicroseconds,
                ..ValueOptions::default()
            },
            bigint_unsigned_handling_mode: BigIntUnsignedMode::Long,
            enable_time_adjuster: true,
        }
    }
}

impl HandlingModes {
    /// Refuses modes Debezium's MySQL connector does not offer.
    pub fn validate(&self) -> Result<(), TypeError> {
        match self.value.time_precision_mode {
            TimePrecisionMode::AdaptiveTimeMicroseconds | TimePrecisionMode::Connect => Ok(()),
            other => Err(TypeError::Mode(format!(
                "time.precision.mode {other:?} is not supported for MySQL \
                 (use adaptive_time_microseconds or connect)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_debeziums_mysql_defaults_and_other_time_modes_are_refused() {
        let modes = HandlingModes::default();
        assert_eq!(
            modes.value.time_precision_mode,
            TimePrecisionMode::AdaptiveTimeMicroseconds
        );
        assert!(modes.validate().is_ok());
        let mut bad = modes.clone();
        bad.value.time_precision_mode = TimePrecisionMode::Nanoseconds;
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("Nanoseconds"));
    }
}
