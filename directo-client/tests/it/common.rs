//! What the test modules share: fixtures, a client for a wiremock server, form fields.

use directo_client::{
    Auth, Client, ClientBuilder, Customer, Error, ItemError, PutOutcome, PutResult, RetryPolicy,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A file of `tests/fixtures`.
pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A client for `server`'s XML Direct path: token auth, http allowed, no retries.
pub(crate) fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder(Auth::token("t"))
        .base_url(format!("{}{PATH}", server.uri()))
        .allow_http(true)
        .retry(RetryPolicy::none())
}

/// [`builder`], built.
pub(crate) fn client(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

/// A field of a request's form body.
pub(crate) fn form_field(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&req.body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The request error of an item that was not delivered ([`ItemError::Failed`]); panics on
/// any other item error.
pub(crate) fn failed(e: &ItemError) -> &Error {
    match e {
        ItemError::Failed(e) => e,
        other => panic!("expected ItemError::Failed, got {other:?}"),
    }
}

/// Directo's answer for a document, stored (`Ok`) or refused ([`ItemError::Rejected`]);
/// panics on an item Directo did not answer for.
pub(crate) fn answer(o: &PutOutcome) -> &PutResult {
    match &o.result {
        Ok(result) => result,
        Err(ItemError::Rejected { result, .. }) => result,
        Err(other) => panic!("no answer from Directo: {other:?}"),
    }
}

/// The error of a read of every customer that fails (panics when it succeeds).
pub(crate) async fn read_error(client: &Client) -> Error {
    use futures::TryStreamExt;
    client
        .customers(directo_client::Query::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err()
}

/// A customer a create accepts: its code and the mandatory e-mail (`<code>@example.ee`,
/// lowercased).
pub(crate) fn mail(code: &str) -> Customer {
    let mut c = Customer::new(code);
    c.email = Some(format!("{}@example.ee", code.to_lowercase()));
    c
}

/// The XML Direct path [`builder`]'s clients send to.
pub(crate) const PATH: &str = "/xmlcore/cap_xml_direct/xmlcore.asp";

/// A wiremock server whose XML Direct path answers every POST with `results` (a put's
/// answer).
pub(crate) async fn answering_puts(results: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/xml")
                .set_body_string(results),
        )
        .mount(&server)
        .await;
    server
}

/// [`answering_puts`] one stored document (`<Result Type="0" Desc="OK"/>`) to every put.
pub(crate) async fn accepting() -> MockServer {
    answering_puts(r#"<results><Result Type="0" Desc="OK"/></results>"#).await
}
