//! Property tests for the decoders of untrusted input: arbitrary bodies never panic, and the
//! service's scalar quirks decode to the same values as their plain forms.

use messaging_client::{AddressBook, Contact, ImportStatus, MessageStatus, Segment, SendResult};
use proptest::prelude::*;

fn decode_all(bytes: &[u8]) {
    let _ = serde_json::from_slice::<Contact>(bytes);
    let _ = serde_json::from_slice::<MessageStatus>(bytes);
    let _ = serde_json::from_slice::<SendResult>(bytes);
    let _ = serde_json::from_slice::<AddressBook>(bytes);
    let _ = serde_json::from_slice::<ImportStatus>(bytes);
    let _ = serde_json::from_slice::<Segment>(bytes);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_all(&bytes);
    }

    #[test]
    fn arbitrary_json_shapes_never_panic(key in "[a-zA-Z]{1,12}", n in any::<i64>(), s in ".*", b in any::<bool>()) {
        for body in [
            format!(r#"{{"{key}":{n},"id":"{n}","status":{b}}}"#),
            format!(r#"{{"{key}":{s:?},"results":[{{"{key}":{n}}}],"fields":{{"id":{s:?}}}}}"#),
            format!(r#"[{n},{s:?},{b}]"#),
        ] {
            decode_all(body.as_bytes());
        }
    }

    #[test]
    fn stringly_scalars_decode_like_plain_ones(id in any::<i64>(), delivered in any::<bool>(), failed in any::<bool>()) {
        let plain = format!(r#"{{"id":{id},"requestId":"r","status":"DELIVERED","delivered":{delivered},"failed":{failed}}}"#);
        let quirky = format!(r#"{{"id":"{id}","requestId":"r","status":"DELIVERED","delivered":"{delivered}","failed":"{failed}"}}"#);
        let a: MessageStatus = serde_json::from_str(&plain).unwrap();
        let b: MessageStatus = serde_json::from_str(&quirky).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!((a.id, a.delivered, a.failed), (Some(id), delivered, failed));
    }
}
