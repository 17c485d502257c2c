//! The one-shot commands: `account`, `unsubscribe add|remove`, `event`, `status`, `fields`. Each
//! makes one call (or a few chunks), prints the answer (a short text, or JSON with `--json`) and
//! exits 0, 1 when the service failed, or 2 for a configuration or input error.

use messaging_client::{Client, EventV1};
use serde_json::{Value, json};

use super::{ClientConfig, Command, Sandbox, UnsubscribeAction, client_error};
use crate::shared::sandbox::Fakes;
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::summary::count;
use sync_kit::{Error, ExitCode, report_error};

/// Runs a one-shot command.
pub async fn main(command: Command) -> ExitCode {
    let out = match &command {
        Command::Account(out) | Command::Fields(out) => out.clone(),
        Command::Event { out, .. } | Command::Status { out, .. } => out.clone(),
        Command::Unsubscribe {
            action: UnsubscribeAction::Add { out, .. } | UnsubscribeAction::Remove { out, .. },
        } => out.clone(),
        _ => unreachable!("file pushes are dispatched by messaging::main"),
    };
    let config = ClientConfig::default();
    #[cfg(feature = "sandbox")]
    let started = match out.sandbox {
        true => match SandboxFile::beside(out.state.as_deref(), false) {
            Ok(file) => Sandbox::start(file, &config).await.map(Some),
            Err(e) => Err(e),
        },
        false => Ok(None),
    };
    #[cfg(not(feature = "sandbox"))]
    let started = Sandbox::start(out.sandbox);
    let started = started.and_then(|started| match started {
        Some((sandbox, client)) => Ok((Some(sandbox), client)),
        None => super::client_from_env(&config).map(|client| (None, client)),
    });
    let (sandbox, client) = match started {
        Ok(started) => started,
        Err(e) => return report_error(out.json, &e),
    };
    let answer = run(command, &client).await;
    if let Some(sandbox) = &sandbox {
        sandbox.save();
    }
    match answer {
        Ok((value, text)) => {
            if out.json {
                sync_kit::output::out(value);
            } else {
                sync_kit::output::out(text);
            }
            ExitCode::Success
        }
        Err(e) => report_error(out.json, &e),
    }
}

/// Runs one command and returns its answer as JSON and as text.
pub async fn run(command: Command, client: &Client) -> Result<(Value, String), Error> {
    match command {
        Command::Account(_) => {
            let a = client.account_info().await.map_err(client_error)?;
            Ok((
                json!({"userEmail": a.user_email, "organisationName": a.organisation_name, "orgId": a.org_id}),
                format!(
                    "{} ({}, org {})",
                    a.organisation_name,
                    a.user_email,
                    a.org_id.map_or("?".into(), |i| i.to_string())
                ),
            ))
        }
        Command::Unsubscribe { action } => {
            let (add, emails) = match action {
                UnsubscribeAction::Add { emails, .. } => (true, emails),
                UnsubscribeAction::Remove { emails, .. } => (false, emails),
            };
            for email in &emails {
                sync_kit::email::check(email)
                    .map_err(|reason| Error::Config(format!("{reason}: {email:?}")))?;
            }
            if add {
                client.add_unsubscribed(&emails).await
            } else {
                client.remove_unsubscribed(&emails).await
            }
            .map_err(client_error)?;
            let verb = if add { "added to" } else { "removed from" };
            Ok((
                json!({"action": if add { "add" } else { "remove" }, "emails": emails}),
                format!(
                    "{} {verb} the unsubscribed list",
                    count(emails.len() as u64, "email")
                ),
            ))
        }
        Command::Event {
            type_key,
            key,
            params,
            ..
        } => {
            let mut event = EventV1::new(&type_key);
            if let Some(key) = &key {
                event = event.key_value(key);
            }
            for (name, value) in &params {
                event = event.param(name, value);
            }
            client.generate_event(&event).await.map_err(client_error)?;
            Ok((
                json!({"eventTypeKey": type_key, "keyValue": key, "params": params.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>()}),
                format!("event {type_key} generated"),
            ))
        }
        Command::Status { request_ids, .. } => {
            let statuses = client
                .message_statuses(&request_ids)
                .await
                .map_err(client_error)?;
            let rows: Vec<Value> = statuses
                .iter()
                .map(|s| json!({"requestId": s.request_id, "status": status_text(&s.status), "delivered": s.delivered, "failed": s.failed}))
                .collect();
            let text = statuses
                .iter()
                .map(|s| format!("{}\t{}", s.request_id, status_text(&s.status)))
                .collect::<Vec<_>>()
                .join("\n");
            let missing = request_ids.len().saturating_sub(statuses.len());
            let text = if missing > 0 {
                format!(
                    "{text}\n({} unknown to the service)",
                    count(missing as u64, "request id")
                )
            } else {
                text
            };
            Ok((Value::Array(rows), text))
        }
        Command::Fields(_) => {
            let books = client.address_books().await.map_err(client_error)?;
            let mut rows = Vec::new();
            let mut lines = Vec::new();
            for book in &books {
                for group in &book.field_groups {
                    for f in &group.fields {
                        let allowed = f
                            .description
                            .allowed_values
                            .as_ref()
                            .map(|a| a.possible_values.clone())
                            .unwrap_or_default();
                        rows.push(json!({"addressBook": book.name, "group": group.name, "id": f.id, "name": f.name, "type": f.description.kind, "required": f.description.required, "allowedValues": allowed}));
                        let allowed = if allowed.is_empty() {
                            String::new()
                        } else {
                            format!(" {allowed:?}")
                        };
                        lines.push(format!(
                            "{:>8}  {:<24} {}{}",
                            f.id, f.name, f.description.kind, allowed
                        ));
                    }
                }
            }
            Ok((Value::Array(rows), lines.join("\n")))
        }
        Command::Send { .. }
        | Command::Orders { .. }
        | Command::Contacts { .. }
        | Command::DirectoOrders { .. } => Err(Error::Config("not a one-shot command".into())),
    }
}

fn status_text(s: &messaging_client::DeliveryStatus) -> String {
    match s {
        messaging_client::DeliveryStatus::Delivered => "DELIVERED".into(),
        messaging_client::DeliveryStatus::Other(o) => o.clone(),
        messaging_client::DeliveryStatus::Unknown => "unknown".into(),
    }
}
