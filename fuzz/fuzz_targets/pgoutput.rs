//! One pgoutput message.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cdc_capture::fuzzing::decode_pgoutput(data);
});
