//! The asynchronous import session of a bulk contact import
//! (`GET /v1/importstatus/{sessionId}`) and polling it to the end.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, Request};
use crate::de;
use crate::error::{Error, Result};

/// State of an import session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportState {
    /// `STARTED`: queued.
    Started,
    /// `IMPORTING`: being processed.
    Importing,
    /// `FINISHED`: done.
    Finished,
    /// `ERROR`: the session failed.
    Error,
    /// Anything else, verbatim.
    Other(String),
}

impl ImportState {
    /// The state as the service spells it (`STARTED`, `IMPORTING`, …).
    ///
    /// ```
    /// assert_eq!(messaging_client::ImportState::Importing.as_str(), "IMPORTING");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            ImportState::Started => "STARTED",
            ImportState::Importing => "IMPORTING",
            ImportState::Finished => "FINISHED",
            ImportState::Error => "ERROR",
            ImportState::Other(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for ImportState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(match de::string_lenient(d)?.as_str() {
            "STARTED" => ImportState::Started,
            "IMPORTING" => ImportState::Importing,
            "FINISHED" => ImportState::Finished,
            "ERROR" => ImportState::Error,
            other => ImportState::Other(other.to_string()),
        })
    }
}

/// `GET /v1/importstatus/{sessionId}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ImportStatus {
    /// The state.
    pub status: ImportState,
    /// When the state was set (ISO 8601), verbatim.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub timestamp: Option<String>,
    /// Description (errors), verbatim.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub description: Option<String>,
    /// The contacts created or updated: the value of the dedupe field and the contact id.
    #[serde(default, deserialize_with = "de::one_or_many")]
    pub mapping: Vec<ImportMapping>,
}

/// One `mapping` entry of a finished import.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImportMapping {
    /// The value of the field that decided uniqueness (e.g. the email).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub dedupe_value: Option<String>,
    /// The contact's id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub contact_id: Option<i64>,
}

/// How [`Client::wait_for_import`] polls: at once, then after `first_interval`, doubling up to
/// `max_interval`, until `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportPolling {
    /// The wait after the first poll (default 200 ms).
    pub first_interval: Duration,
    /// The longest wait between polls (default 10 s).
    pub max_interval: Duration,
    /// Give up after this long (default 20 minutes; most imports finish in 1–2 minutes).
    pub timeout: Duration,
}

impl Default for ImportPolling {
    fn default() -> Self {
        ImportPolling {
            first_interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(20 * 60),
        }
    }
}

impl Client {
    /// One read of an import session's status. Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let status = client.import_status("5b2b0a4e-0000").await?;
    /// println!("{:?}", status.status);
    /// # Ok(()) }
    /// ```
    pub async fn import_status(&self, session_id: &str) -> Result<ImportStatus> {
        self.send(Request::new(
            Method::GET,
            &["v1", "importstatus", session_id],
        ))
        .await?
        .decode("import status")
    }

    /// Polls an import session until it is `FINISHED` (returned), `ERROR`
    /// ([`Error::ImportFailed`]) or the polling's timeout has passed
    /// ([`Error::ImportTimedOut`]). The first poll goes out at once.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::ImportPolling;
    /// client.wait_for_import("5b2b0a4e-0000", &ImportPolling::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_import(
        &self,
        session_id: &str,
        polling: &ImportPolling,
    ) -> Result<ImportStatus> {
        let started = Instant::now();
        let mut interval = polling.first_interval;
        loop {
            let status = self.import_status(session_id).await?;
            match status.status {
                ImportState::Finished => return Ok(status),
                ImportState::Error => {
                    return Err(Error::ImportFailed {
                        session_id: session_id.into(),
                        description: status.description.unwrap_or_default(),
                    });
                }
                ref other if started.elapsed() + interval > polling.timeout => {
                    return Err(Error::ImportTimedOut {
                        session_id: session_id.into(),
                        status: other.as_str().to_owned(),
                        waited: started.elapsed(),
                    });
                }
                _ => {
                    tokio::time::sleep(interval).await;
                    interval = (interval * 2).min(polling.max_interval);
                }
            }
        }
    }
}
