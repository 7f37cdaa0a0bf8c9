//! Any string, read as an XSRF token: never a panic; a decoded token re-masks and decodes
//! to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torn::xsrf::RawToken;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(token) = RawToken::decode(text) {
            let again = RawToken::decode(&token.masked()).expect("a masked token decodes");
            assert!(again.matches(&token));
        }
    }
});
