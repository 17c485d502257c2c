//! Which roots are Directo errors: the attributes and elements 5dvision/directo's
//! `ErrorResponseDetector` (src/Http/ErrorResponseDetector.php, `ERROR_ATTRIBUTES`,
//! `ERROR_ELEMENTS`) treats as errors, and nothing else. A root carrying `description` or
//! `desc` is data when it wraps records.

use directo_client::{Customer, Error, Record, RecordReader};

fn first(body: &str) -> Result<Record, Error> {
    RecordReader::<_, Record>::new(body.as_bytes(), "customer")
        .next()
        .expect("an item")
}

/// The defect the review found: a success answer whose envelope carries `description`,
/// `desc` or a `code` was read as an error and its records lost.
#[test]
fn a_root_with_description_or_desc_that_wraps_records_is_data() {
    for body in [
        r#"<transport description="Customers" code="20"><customers><customer code="C1"/></customers></transport>"#,
        r#"<transport desc="export"><customer code="C1"/></transport>"#,
        r#"<customers description="all"><customer code="C1"/></customers>"#,
        r#"<transport><customers desc="x"><customer code="C1"/></customers></transport>"#,
    ] {
        let read: Vec<Customer> = RecordReader::new(body.as_bytes(), "customer")
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(read.len(), 1, "{body}");
        assert_eq!(read[0].code, "C1");
    }
}

/// `ERROR_ATTRIBUTES = ['error', 'errormessage', 'error_message', 'viga']` on the root; a
/// flag value (`1`, `true`, `yes`) takes the message from `message`/`errormessage`/… or the
/// text, any other value is the message itself.
#[test]
fn the_detectors_error_attributes_on_the_root_are_errors() {
    for (body, want) in [
        (
            r#"<transport error="Component not allowed"/>"#,
            "Component not allowed",
        ),
        (
            r#"<transport errormessage="Bad key"><customers/></transport>"#,
            "Bad key",
        ),
        (
            r#"<customers error_message="Database offline"></customers>"#,
            "Database offline",
        ),
        (r#"<transport viga="Vale võti"/>"#, "Vale võti"),
        (
            r#"<results error="1" message="Error message"/>"#,
            "Error message",
        ),
        (
            r#"<transport error="true">Server busy</transport>"#,
            "Server busy",
        ),
    ] {
        let err = first(body).unwrap_err();
        assert!(
            matches!(&err, Error::Api { desc, .. } if desc == want),
            "{body}: {err:?}"
        );
    }
}

/// `ERROR_ELEMENTS = ['error', 'errors', 'err', 'viga', 'veateade']` as the root or directly
/// under `<transport>`.
#[test]
fn the_detectors_error_elements_are_errors() {
    for (body, want) in [
        ("<viga>Vale päring</viga>", "Vale päring"),
        (
            "<veateade>Andmebaas suletud</veateade>",
            "Andmebaas suletud",
        ),
        (
            "<errors><error>First</error><error>Second</error></errors>",
            "First; Second",
        ),
        (r#"<error desc="Bad" code="3"/>"#, "Bad"),
        (
            "<transport><viga>Vale päring</viga></transport>",
            "Vale päring",
        ),
    ] {
        let err = first(body).unwrap_err();
        assert!(
            matches!(&err, Error::Api { desc, .. } if desc == want),
            "{body}: {err:?}"
        );
    }
}
