//! Any string, unquoted as Python's `http.cookies` would write it: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = torn::cookies::unquote(text);
    }
});
