//! Characters XML 1.0 does not allow (the `Char` production, W3C XML 1.0 §2.2: tab, LF, CR
//! and U+0020 and above only, minus U+FFFE/U+FFFF; a character reference to one is no better,
//! WFC "Legal Character" §4.1). Directo answers a request holding one "8 Invalid xml given"
//! as a whole (result code table, wiki `en/xml_direct/alustamine/vastused_ja_veakoodid`), so
//! the client refuses the one document before sending, or strips the characters when asked.

#![cfg(feature = "fake")]

use crate::common::failed;
use directo_client::fake::FakeDirecto;
use directo_client::{Auth, Client, Customer, Error, PutMode, RetryPolicy, parse_put_results};

fn customer(code: &str, name: &str) -> Customer {
    let mut c = Customer::new(code);
    c.name = Some(name.into());
    c.email = Some(format!("{}@example.ee", code.to_lowercase()));
    c
}

#[tokio::test]
async fn one_control_character_refuses_its_document_only() {
    let fake = FakeDirecto::start().await;
    let docs = [
        customer("C1", "Mari"),
        customer("C2", "Bad\u{1}Name"),
        customer("C3", "Jüri\u{B}"),
        customer("C4", "Tab\tand\nnewline are fine"),
    ];
    let out = fake.client().put(&docs, PutMode::Create).await;
    assert!(out[0].is_ok(), "{:?}", out[0]);
    assert!(out[3].is_ok(), "{:?}", out[3]);
    for (i, (code, at)) in [(1, ("C2", 3)), (2, ("C3", 4))] {
        let err = out[i].result.as_ref().unwrap_err();
        match failed(err) {
            Error::InvalidCharacter {
                document,
                field,
                code_point,
                position,
            } => {
                assert_eq!(document.as_deref(), Some(code));
                assert_eq!(field, "name");
                assert_eq!(*position, at);
                assert!(matches!(*code_point, 0x1 | 0xB));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("name"), "{err}");
    }
    // What Directo received: one request, C1 and C4 only.
    let puts = fake.puts();
    assert_eq!(puts.len(), 1);
    assert!(puts[0].xmldata.contains(r#"code="C1""#));
    assert!(puts[0].xmldata.contains(r#"code="C4""#));
    assert!(!puts[0].xmldata.contains("C2") && !puts[0].xmldata.contains("C3"));
    assert_eq!(fake.customers().len(), 2);
}

#[tokio::test]
async fn stripping_is_an_opt_in_setting() {
    let fake = FakeDirecto::start().await;
    let client = Client::builder(Auth::token(FakeDirecto::TOKEN))
        .base_url(fake.base_url())
        .allow_http(true)
        .retry(RetryPolicy::none())
        .strip_invalid_xml_chars(true)
        .build()
        .unwrap();
    let out = client
        .put(
            &[customer("C2", "Bad\u{1}Na\u{FFFF}me\u{1F}")],
            PutMode::Create,
        )
        .await;
    assert!(out[0].is_ok(), "{:?}", out[0]);
    let sent = &fake.puts()[0].xmldata;
    assert!(sent.contains(r#"name="BadName""#), "{sent}");
    assert_eq!(fake.customers()[0].name.as_deref(), Some("BadName"));
}

/// The fake, by hand: `xmldata` holding a character XML 1.0 forbids (raw or as a character
/// reference) is answered 8 "Invalid xml given" for the whole request, nothing stored.
#[tokio::test]
async fn the_fake_answers_invalid_xml_for_a_forbidden_character() {
    let fake = FakeDirecto::start().await;
    for xml in [
        "<customers><customer code=\"A\" email=\"a@b.ee\"/><customer code=\"B\" email=\"b@b.ee\" name=\"x\u{1}\"/></customers>",
        r#"<customers><customer code="A" email="a@b.ee" name="&#11;"/></customers>"#,
        r#"<customers><customer code="A" email="a@b.ee" name="&#xFFFE;"/></customers>"#,
    ] {
        let body = reqwest::Client::new()
            .post(fake.base_url())
            .form(&[
                ("token", FakeDirecto::TOKEN),
                ("put", "1"),
                ("what", "customer"),
                ("xmldata", xml),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = parse_put_results(body.as_bytes()).unwrap();
        assert_eq!(r.len(), 1, "{body}");
        assert_eq!(
            (r[0].code, r[0].desc.as_str()),
            (Some(8), "Invalid xml given")
        );
    }
    assert!(fake.customers().is_empty());
}
