#![no_main]
// Placeholder until this crate's issue lands its parser; replaced by the crate's owner.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
