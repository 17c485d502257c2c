//! The fake against the references, by hand: a POST whose body is not
//! `application/x-www-form-urlencoded` carries no parameters ("The POST method is used …
//! application/x-www-form-urlencoded", wiki `en/xmlcore`; `xmlcore.asp` is classic ASP, whose
//! `Request.Form` reads only such bodies), and a read of a component Directo does not have is
//! an error, never an empty `<transport/>`.

#![cfg(feature = "fake")]

use directo_client::fake::FakeDirecto;
use directo_client::{Error, Query, Record};
use futures::TryStreamExt;

async fn send(url: &str, content_type: &str, body: &str) -> String {
    reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_non_form_post_body_is_not_read() {
    let fake = FakeDirecto::start().await;
    let form = format!(
        "token={}&put=1&what=customer&xmldata=%3Ccustomers%3E%3Ccustomer+code%3D%22C1%22+email%3D%22a%40b.ee%22%2F%3E%3C%2Fcustomers%3E",
        FakeDirecto::TOKEN
    );
    let json = format!(
        r#"{{"token":"{}","get":"1","what":"customer"}}"#,
        FakeDirecto::TOKEN
    );
    for (ct, body) in [
        ("application/json", json.as_str()),
        ("text/plain", form.as_str()),
        ("text/xml", form.as_str()),
    ] {
        let answer = send(&fake.base_url(), ct, body).await;
        assert_eq!(answer, "<err>token required</err>", "{ct}");
    }
    assert!(fake.customers().is_empty());
    // The same form, declared as a form, is read (with or without a charset parameter).
    for ct in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
    ] {
        let answer = send(&fake.base_url(), ct, &form).await;
        assert!(
            answer.contains(r#"Type="0""#) || answer.contains(r#"Type="11""#),
            "{ct}: {answer}"
        );
    }
    assert_eq!(fake.customers().len(), 1);
}

#[tokio::test]
async fn an_unknown_component_is_an_error_not_an_empty_read() {
    let fake = FakeDirecto::start().await;
    let read = |what: &'static str| {
        let url = fake.base_url();
        async move {
            let body = format!("token={}&get=1&what={what}", FakeDirecto::TOKEN);
            send(&url, "application/x-www-form-urlencoded", &body).await
        }
    };
    assert_eq!(
        read("kliendid").await,
        r#"<result type="404" desc="Invalid url given"/>"#
    );
    // A documented component with nothing in it is the empty answer.
    assert!(read("stocklevel").await.ends_with("<transport/>"));
    // Through the client: an error, never an empty stream.
    let err = fake
        .client()
        .records("kliendid", Query::new())
        .try_collect::<Vec<Record>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                code: Some(404),
                ..
            }
        ),
        "{err:?}"
    );
    // A component seeded into the fake is one it has.
    fake.seed_records("event2", [Record::new("event2").attr("code", "E1")]);
    let read: Vec<Record> = fake
        .client()
        .records("event2", Query::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
}
