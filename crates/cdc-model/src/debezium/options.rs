//! Debezium's value-conversion options ("handling modes"). Their spellings are Debezium's, so
//! the same strings work in our TOML and in a Debezium connector configuration.

use serde::Deserialize;

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecimalMode {
    /// `org.apache.kafka.connect.data.Decimal` / `io.debezium.data.VariableScaleDecimal`.
    #[default]
    Precise,
    /// `double` (NaN and ±Infinity allowed).
    Double,
    /// Plain string (`NAN`, `Infinity` allowed).
    String,
}

/// `time.precision.mode` (PostgreSQL connector values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePrecisionMode {
    /// Millisecond types for precision 0–3, microsecond types above.
    #[default]
    Adaptive,
    /// As `adaptive`, but TIME is always `MicroTime`.
    AdaptiveTimeMicroseconds,
    /// Kafka Connect's own `Date`/`Time`/`Timestamp` logical types (milliseconds).
    Connect,
    /// `MicroTime` / `MicroTimestamp` for every precision.
    Microseconds,
    /// `NanoTime` / `NanoTimestamp` for every precision.
    Nanoseconds,
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum BinaryMode {
    #[default]
    #[serde(rename = "bytes")]
    Bytes,
    #[serde(rename = "base64")]
    Base64,
    #[serde(rename = "base64-url-safe")]
    Base64UrlSafe,
    #[serde(rename = "hex")]
    Hex,
}

/// `interval.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMode {
    /// `io.debezium.time.MicroDuration` (int64 microseconds, months of 365.25/12 days).
    #[default]
    Numeric,
    /// `io.debezium.time.Interval` (ISO-8601 duration string).
    String,
}

/// `hstore.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HstoreMode {
    /// `io.debezium.data.Json` string.
    #[default]
    Json,
    /// `map<string, optional string>`.
    Map,
}

/// How column values are rendered; one per capture, shared by every table codec.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueOptions {
    #[serde(default)]
    pub decimal_handling_mode: DecimalMode,
    #[serde(default)]
    pub time_precision_mode: TimePrecisionMode,
    #[serde(default)]
    pub binary_handling_mode: BinaryMode,
    #[serde(default)]
    pub interval_handling_mode: IntervalMode,
    #[serde(default)]
    pub hstore_handling_mode: HstoreMode,
    /// `money.fraction.digits`: the scale of MONEY values.
    #[serde(default = "default_money_fraction_digits")]
    pub money_fraction_digits: u8,
    /// `unavailable.value.placeholder`: stands in for unchanged TOASTed values.
    #[serde(default = "default_placeholder")]
    pub unavailable_value_placeholder: String,
}

fn default_money_fraction_digits() -> u8 {
    2
}

fn default_placeholder() -> String {
    super::UNAVAILABLE_VALUE_PLACEHOLDER.to_owned()
}

impl Default for ValueOptions {
    fn default() -> Self {
        ValueOptions {
            decimal_handling_mode: DecimalMode::default(),
            time_precision_mode: TimePrecisionMode::default(),
            binary_handling_mode: BinaryMode::default(),
            interval_handling_mode: IntervalMode::default(),
            hstore_handling_mode: HstoreMode::default(),
            money_fraction_digits: default_money_fraction_digits(),
            unavailable_value_placeholder: default_placeholder(),
        }
    }
}
