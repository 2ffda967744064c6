#![no_main]
//! Parsing, `looks_valid`, scanning and redacting arbitrary input never
//! panic, and whatever `scan` finds parses on its own.
use palisade_apikey::KeyFormat;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fmt = KeyFormat::default();
    let text = String::from_utf8_lossy(data);
    let _ = fmt.parse(&text);
    let _ = fmt.looks_valid(&text);
    for found in fmt.scan(&text) {
        let key = text.get(found.range.clone()).unwrap_or_default();
        assert!(fmt.parse(key).is_ok());
    }
    let redacted = fmt.redact(&text);
    assert!(fmt.scan(&redacted).is_empty());
    let _ = text.parse::<palisade_apikey::KeyId>();
    let _ = text.parse::<palisade_apikey::Cidr>();
    let _ = palisade_apikey::validate_scope(&text);
});
