//! DDL statement text as it arrives in a binlog QUERY event.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    let mut schemas = cdc_mysql::ddl::Schemas::new(cdc_mysql::ddl::DdlOptions::default());
    let _ = schemas.apply(&sql, Some("db"));
});
