//! Raw binlog events (v4 frames with CRC32), split on a 0xFE 0xFE separator.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let events: Vec<&[u8]> = data.split(|&b| b == 0xfe).collect();
    let _ = cdc_mysql::binlog::decode_raw_events(cdc_mysql::binlog::Flavor::MariaDb, &events);
    let _ = cdc_mysql::binlog::decode_raw_events(cdc_mysql::binlog::Flavor::MySql, &events);
});
