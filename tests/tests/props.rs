//! Property tests of the decoders that read what browsers send: signed values, XSRF tokens,
//! cookie unquoting. They never panic, and what torn writes, torn reads back.

use proptest::prelude::*;
use torn::cookies::unquote;
use torn::signing::Keys;
use torn::xsrf::RawToken;

fn keys() -> Keys {
    Keys::versioned([
        (1, "first-secret-for-property-tests-0123456789"),
        (7, "second-secret-for-property-tests-012345678"),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn signed_values_round_trip(name in "[a-zA-Z0-9_]{1,20}", value in proptest::collection::vec(any::<u8>(), 0..512)) {
        let k = keys();
        let signed = k.sign(&name, &value);
        prop_assert!(signed.starts_with("2|1:7|"));
        prop_assert_eq!(k.verify(&name, &signed, 31.0), Some(value));
    }

    #[test]
    fn any_string_decodes_without_panicking(input in ".{0,600}") {
        let _ = keys().verify("name", &input, 31.0);
        let _ = RawToken::decode(&input);
        let _ = unquote(&input);
    }

    #[test]
    fn structured_garbage_is_never_accepted(
        version in "[0-9]{0,3}", ts in "[0-9-]{0,12}", name in "[a-z]{0,6}",
        value in "[A-Za-z0-9+/=]{0,12}", sig in "[0-9a-f]{0,70}",
    ) {
        let input = format!("2|{}:{version}|{}:{ts}|{}:{name}|{}:{value}|{sig}",
            version.len(), ts.len(), name.len(), value.len());
        // Without the secret nobody can produce a valid signature.
        prop_assert_eq!(keys().verify(&name, &input, 1e9), None);
    }

    #[test]
    fn any_single_byte_change_invalidates(value in proptest::collection::vec(any::<u8>(), 1..64), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let k = keys();
        let signed = k.sign("n", &value);
        let mut bytes = signed.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        if let Ok(tampered) = String::from_utf8(bytes) {
            prop_assert_eq!(k.verify("n", &tampered, 31.0), None);
        }
    }

    #[test]
    fn xsrf_masking_round_trips(mask in any::<[u8; 4]>()) {
        let raw = RawToken::generate();
        let masked = raw.masked_with(mask);
        let decoded = RawToken::decode(&masked).expect("decodes");
        prop_assert!(decoded.matches(&raw));
        prop_assert!(!decoded.matches(&RawToken::generate()));
    }
}
