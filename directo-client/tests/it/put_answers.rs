//! How put answers are read: the forms the Go client used live against XML Direct
//! (qbitsoftware/accounting-service `directo/xml.go`: lowercase `<result type desc>`, a result
//! whose `Type` is empty is not a failure, `msg` when `desc` is empty).

use directo_client::{PutMode, PutStatus, parse_put_results};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{PATH, client, form_field, mail};

/// A `<Result>` without `Type` (or with an empty one) was a failure, inviting a re-send that
/// Directo may refuse as a duplicate. The Go client treats an empty type as success.
#[tokio::test]
async fn a_result_without_type_is_a_success_in_either_case() {
    for answer in [
        r#"<results><Result Desc="OK" docid="C1"/></results>"#,
        r#"<results><result type="" desc="Created" docid="C1"/></results>"#,
        r#"<result desc="Created"/>"#,
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .and(body_string_contains("put=1"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/xml")
                    .set_body_string(answer),
            )
            .expect(1)
            .mount(&server)
            .await;
        let out = client(&server).put(&[mail("C1")], PutMode::Create).await;
        assert!(out[0].is_ok(), "{answer}: {:?}", out[0]);
        let got = &server.received_requests().await.unwrap()[0];
        assert_eq!(form_field(got, "what").as_deref(), Some("customer"));
        assert!(form_field(got, "xmldata").unwrap().contains(r#"code="C1""#));
    }
}

#[test]
fn lowercase_results_and_msg_are_read() {
    let r = parse_put_results(
        br#"<results><result type="1" msg="korduv arve"/><result type="0" desc="OK"/><Result Type="x"/></results>"#,
    )
    .unwrap();
    assert_eq!(r[0].code, Some(1));
    assert_eq!(r[0].desc, "korduv arve");
    assert!(!r[0].is_success());
    assert!(r[1].is_success());
    // A `Type` that is there but is no number is not known to be a success.
    assert_eq!(r[2].status, PutStatus::Unreadable);
    assert!(!r[2].is_success());
}
