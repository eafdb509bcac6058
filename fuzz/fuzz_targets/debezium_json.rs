//! Debezium JSON records: the first byte splits key and value.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (key, value) = match data.split_first() {
        Some((&n, rest)) => rest.split_at((n as usize).min(rest.len())),
        None => (&[][..], data),
    };
    let _ = cdc_model::debezium::decode_record(Some(key), Some(value));
    let _ = cdc_model::debezium::decode_record(None, Some(data));
});
