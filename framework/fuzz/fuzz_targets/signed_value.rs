//! Any bytes, read as a signed cookie: never a panic, never accepted without the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torn::signing::{Keys, MAX_SIGNED_VALUE_LEN};

fuzz_target!(|data: &[u8]| {
    let keys = Keys::versioned([
        (0, "fuzz-secret-0123456789abcdef0123"),
        (3, "fuzz-secret-newer-0123456789abcdef"),
    ]);
    if let Ok(text) = std::str::from_utf8(data) {
        // Split the input into a cookie name and a value to exercise the name check too.
        let (name, value) = text.split_once('\n').unwrap_or(("n", text));
        // The fuzzer does not know the secret, so nothing it writes may verify.
        assert!(keys.verify(name, value, 1e12).is_none());
        // What torn signs, torn reads back, up to the size a browser keeps.
        let signed = keys.sign(name, data);
        let expected = (signed.len() <= MAX_SIGNED_VALUE_LEN).then_some(data);
        assert_eq!(keys.verify(name, &signed, 31.0).as_deref(), expected);
    }
});
