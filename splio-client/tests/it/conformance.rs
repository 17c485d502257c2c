//! Every request the crate can make, sent through a request-validating Prism mock of Splio's
//! OpenAPI document (`prism mock --errors`): any schema violation Prism reports (a 4xx answer
//! instead of the documented example) fails the test. Also decodes every example response.
use crate::common;

use futures::TryStreamExt;
use splio_client::{
    ApiKey, BlacklistSource, Channel, Client, ContactData, CustomFieldValue, FieldType, FieldValue,
    RateLimits, RemoveSource, RetryPolicy, UniqueKey,
};

#[tokio::test]
async fn every_request_conforms_to_the_openapi_document() {
    let log = std::env::temp_dir().join(format!("splio-prism-{}.log", std::process::id()));
    let Some(prism) = common::start_prism("every_request_conforms_to_the_openapi_document", &log)
    else {
        return;
    };
    let base = format!("http://127.0.0.1:{}", prism.port);
    let build = |key: Option<UniqueKey>| {
        let b = Client::builder(ApiKey::new("XXXXYYYYZZZZ"))
            .base_url(&base)
            .allow_http(true)
            .rate_limit(RateLimits::unlimited())
            .retry(RetryPolicy::none());
        match key {
            Some(k) => b.unique_key(k),
            None => b,
        }
        .build()
        .unwrap()
    };
    let discover = build(None);
    let c = build(Some(UniqueKey::Email));
    let mut failures: Vec<String> = Vec::new();
    macro_rules! check {
        ($name:expr, $call:expr) => {
            if let Err(e) = $call {
                failures.push(format!("{}: {e}", $name));
            }
        };
    }

    check!(
        "unique key",
        discover
            .unique_key()
            .await
            .map(|k| assert_eq!(k, UniqueKey::CustomField(0)))
    );
    let full = ContactData::with_email("Jane+news@Example.com")
        .firstname("Jane")
        .lastname("Doe")
        .cellphone("+331122334455")
        .language("en")
        .creation_date(jiff::civil::date(2024, 1, 2).at(3, 4, 5, 0))
        .custom_field(CustomFieldValue::by_id(3, FieldValue::Int(4)))
        .custom_field(CustomFieldValue::by_name("tier", "gold"))
        .list(25);
    let mut with_optin = full.clone();
    with_optin.double_optin = Some(serde_json::json!({"enabled": true}));
    check!("ping", c.ping().await.map(|id| assert_eq!(id, Some(123))));
    check!("contacts", c.contacts().try_collect::<Vec<_>>().await);
    check!("contacts page", c.contacts_page(1, 1000).await);
    check!("get contact", c.get_contact("jane+news@example.com").await);
    check!("create contact", c.create_contact(&with_optin).await);
    check!(
        "patch contact",
        c.patch_contact("jane+news@example.com", &full).await
    );
    check!(
        "delete contact",
        c.delete_contact("jane+news@example.com").await
    );
    check!(
        "subscribe",
        c.subscribe("jane+news@example.com", &[25, 26]).await
    );
    check!(
        "unsubscribe",
        c.unsubscribe("jane+news@example.com", &[25]).await
    );
    check!("upsert", c.upsert(&full).await);
    let batch = vec![full.clone(), ContactData::with_email("b@example.com")];
    // The requests went through (the items' own answers are Prism's examples).
    fn sent<T>(out: Vec<splio_client::ContactOutcome<T>>) -> Result<(), splio_client::ItemError> {
        out.into_iter()
            .find_map(|o| match o.result {
                Err(e @ splio_client::ItemError::Failed(_)) => Some(Err(e)),
                _ => None,
            })
            .unwrap_or(Ok(()))
    }
    check!("bulk create", sent(c.bulk_create(&batch).await));
    check!("upsert many", sent(c.upsert_many(&batch).await));
    // The documented 207 examples answer for these two keys: one 404, one success. A bulk
    // delete reports the 404 as deleted (the contact is gone; a repeated request gets 404 for
    // what its first attempt deleted); an opt-out reports it as not found.
    let keys = ["jdoe@yahoo.com".to_string(), "jdoe@msn.com".to_string()];
    let deleted = c.bulk_delete(&keys).await;
    if deleted.len() != 2 || deleted.iter().any(|o| o.result.is_err()) {
        failures.push(format!("bulk delete: {deleted:?}"));
    }
    let opted_out = c.optout(&keys).await;
    let ok = opted_out.len() == 2
        && opted_out[0]
            .result
            .as_ref()
            .is_err_and(|e| e.is_not_found())
        && opted_out[1].result.is_ok();
    if !ok {
        failures.push(format!("optout: {opted_out:?}"));
    }
    check!("fields", c.contact_fields().try_collect::<Vec<_>>().await);
    check!(
        "create field",
        c.create_contact_field("my_field_name", FieldType::Date)
            .await
    );
    check!("delete field", c.delete_contact_field(5).await);
    check!("lists", c.lists().try_collect::<Vec<_>>().await);
    for source in [
        None,
        Some(BlacklistSource::Custom),
        Some(BlacklistSource::Unsub),
        Some(BlacklistSource::Bounce),
    ] {
        check!(
            "email blacklist",
            c.blacklist(Channel::Email, source)
                .try_collect::<Vec<_>>()
                .await
        );
    }
    check!(
        "cellphone blacklist",
        c.blacklist(Channel::Cellphone, Some(BlacklistSource::Stop))
            .try_collect::<Vec<_>>()
            .await
    );
    check!(
        "blacklist lookup",
        c.blacklist_lookup(Channel::Email, "john@doe.com").await
    );
    check!(
        "blacklist lookup sms",
        c.blacklist_lookup(Channel::Cellphone, "33614021388").await
    );
    check!(
        "blacklist add",
        sent(c.blacklist_add(Channel::Email, &["a@b.com".into()]).await)
    );
    check!(
        "blacklist add sms",
        sent(
            c.blacklist_add(Channel::Cellphone, &["33614021388".into()])
                .await
        )
    );
    check!(
        "blacklist remove",
        sent(
            c.blacklist_remove(Channel::Email, RemoveSource::Unsub, &["a@b.com".into()])
                .await
        )
    );
    check!(
        "blacklist remove all",
        sent(
            c.blacklist_remove(
                Channel::Cellphone,
                RemoveSource::All,
                &["33614021388".into()]
            )
            .await
        )
    );
    check!(
        "update",
        c.update(
            &ContactData::with_email("jdoe@msn.com")
                .lastname("Doe")
                .tracking_consent(
                    splio_client::TrackingConsent::email_open(true).source("shopify")
                )
        )
        .await
    );
    check!(
        "create group",
        c.create_group(&splio_client::NewGroup {
            name: "basket > 100".into(),
            description: Some("individual having a basket > 100".into()),
            source: Some("integrator_vip".into()),
            keys: vec!["johndoe@splio.com".into(), "janedoe@splio.com".into()],
        })
        .await
    );
    check!(
        "add to group",
        c.add_to_group(1, &["johndoe@splio.com".into()]).await
    );
    check!(
        "remove from group",
        c.remove_from_group(1, &["johndoe@splio.com".into()]).await
    );
    check!("clear group", c.clear_group(1).await);
    check!("groups", c.groups().try_collect::<Vec<_>>().await);
    check!(
        "activities",
        c.contact_activities("jdoe@msn.com", Some(splio_client::ActivityChannel::Email))
            .try_collect::<Vec<_>>()
            .await
    );
    // The default encoding of the search filter (brackets); Prism refuses the other two
    // (`fields.0 must be object` for a JSON array, "no supported content types" for a body on
    // the GET), which is why they are not the default.
    let search = splio_client::ContactSearch::new().filter(splio_client::SearchFilter::new(
        "lastname",
        splio_client::SearchOperator::Equal,
        "Doe",
    ));
    check!("search", c.search_contacts_page(&search, 1, 20).await);

    drop(prism);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let violations: Vec<&str> = log_text
        .lines()
        .filter(|l| {
            l.contains("Request") && l.contains("violation")
                || l.contains("[VALIDATOR]") && l.contains("error")
        })
        .collect();
    let _ = std::fs::remove_file(&log);
    assert!(
        failures.is_empty() && violations.is_empty(),
        "failures: {failures:#?}\nprism violations: {violations:#?}"
    );
}
