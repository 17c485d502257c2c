//! Running the job: endpoints from the environment (or the sandbox fakes), the Smaily sink, the
//! Directo source, and one run.

use futures::StreamExt;
use marketing_sync_core::count_requests;
use serde_json::Value;
use smaily_client::{Credentials, ItemError, Subscriber};

use super::{Config, prepare};
#[cfg(feature = "sandbox")]
use crate::shared::directo::sandbox_directo;
use crate::shared::directo::{directo_from_env, open_read, source_record};
use crate::shared::run::run_job;
#[cfg(not(feature = "sandbox"))]
use crate::shared::sandbox::Unavailable as Sandbox;
use sync_kit::preview::{DryRun, Preview};
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::state::StateStore;
use sync_kit::state_guard::StateGuard;
#[cfg(feature = "sandbox")]
use sync_kit::summary::count;
use sync_kit::{
    CommonArgs, Delivery, Error, Item, Outcome, RunContext, Sink, Summary, env, error_chain,
    report_error,
};

/// The two ends of the job.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Where customers come from.
    pub directo: directo_client::Client,
    /// Where subscribers go (`None` for a dry run, which sends nothing and needs no Smaily
    /// credentials).
    pub smaily: Option<smaily_client::Client>,
}

/// Builds the endpoints from `DIRECTO_*` and `SMAILY_*` environment variables (the Smaily ones
/// only when `smaily` is true: a dry run reads Directo alone).
pub fn endpoints_from_env(config: &Config, smaily: bool) -> Result<Endpoints, Error> {
    let directo = directo_from_env(&config.directo)?;
    let smaily = smaily.then(|| smaily_from_env(config)).transpose()?;
    Ok(Endpoints { directo, smaily })
}

/// A Smaily client from `SMAILY_SUBDOMAIN` (or `SMAILY_BASE_URL`), `SMAILY_USER` and
/// `SMAILY_PASSWORD`.
fn smaily_from_env(config: &Config) -> Result<smaily_client::Client, Error> {
    let user = env::required("SMAILY_USER", "the Smaily API user")?;
    let password = env::required("SMAILY_PASSWORD", "the Smaily API password")?;
    let subdomain = env::optional("SMAILY_SUBDOMAIN");
    let builder = match (subdomain, env::optional("SMAILY_BASE_URL")) {
        (_, Some(base)) => {
            let (url, allow_http) = smaily_api_root("SMAILY_BASE_URL", &base)?;
            smaily_client::Client::builder(Credentials::new(user, password))
                .base_url(url.to_string())
                .allow_http(allow_http)
        }
        (Some(subdomain), None) => {
            smaily_client::Client::builder(Credentials::new(user, password)).subdomain(subdomain)
        }
        (None, None) => {
            return Err(Error::Config(
                "SMAILY_SUBDOMAIN is not set (the part before .sendsmaily.net); set it in the environment or .env, or try --sandbox".into(),
            ));
        }
    };
    tune_smaily(builder, config)
        .build()
        .map_err(|e| Error::Config(format!("Smaily client: {e}")))
}

/// Parses `SMAILY_BASE_URL`: the API root that scripts such as `contact.php` are joined to, so
/// its path ends in `/api/` (`https://acme.sendsmaily.net/api/`). A bare host
/// (`https://acme.sendsmaily.net`) gets `/api/` added, with a warning; any other path is refused,
/// since `contact.php` would be looked for in the wrong place.
pub fn smaily_api_root(name: &str, value: &str) -> Result<(url::Url, bool), Error> {
    let (mut url, allow_http) = env::base_url(name, value)?;
    let path = url.path().trim_end_matches('/').to_owned();
    if path.ends_with("/api") {
        url.set_path(&format!("{path}/"));
    } else if path.is_empty() {
        url.set_path("/api/");
        tracing::warn!(
            "{name} {value:?} has no /api/ path; using {url} (the API root contact.php is joined to)"
        );
    } else {
        return Err(Error::Config(format!(
            "{name} must be the API root that contact.php is joined to, ending in /api/ \
             (e.g. https://acme.sendsmaily.net/api/); {value:?} ends in {path:?}"
        )));
    }
    Ok((url, allow_http))
}

/// Applies the job's Smaily settings to a client builder.
pub fn tune_smaily(
    builder: smaily_client::ClientBuilder,
    config: &Config,
) -> smaily_client::ClientBuilder {
    let s = &config.smaily;
    builder
        .rate_limit(s.requests_per_second)
        .batch_size(config.job.batch_size)
        .concurrency(1)
        .retry(smaily_client::RetryPolicy {
            max_retries: s.transport_retries,
            min_delay: s.transport_retry_delay,
            max_delay: s.transport_retry_delay.saturating_mul(30),
            jitter: true,
        })
}

/// Delivers batches with `POST /api/contact.php` (idempotent upserts keyed by email).
pub struct SmailySink<'a> {
    client: smaily_client::Client,
    /// Where the last delivered fields are kept (the state file, the job), to tell an emptied
    /// field (sent empty: a clear) from one never set (not sent).
    snapshots: Option<(&'a sync_kit::StateStore, String)>,
}

impl std::fmt::Debug for SmailySink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmailySink")
            .field("client", &self.client)
            .finish()
    }
}

impl<'a> SmailySink<'a> {
    /// A sink over `client` (whose batch size should be the job's). Without
    /// [`with_snapshots`](Self::with_snapshots) an empty field is never sent.
    pub fn new(client: smaily_client::Client) -> Self {
        Self {
            client,
            snapshots: None,
        }
    }

    /// Sends an empty field (a clear: Smaily overwrites the old value with the empty one)
    /// when the subscriber's last delivered fields (`job`'s snapshot in `state`) held a value.
    pub fn with_snapshots(mut self, state: &'a sync_kit::StateStore, job: &str) -> Self {
        self.snapshots = Some((state, job.to_owned()));
        self
    }
}

/// The fields of `item` to send: an empty one only when `before` (the last delivered fields)
/// held a value for it (an emptied attribute, cleared in Smaily); never set, it is not sent.
pub fn sendable(item: &Item, before: Option<&serde_json::Map<String, Value>>) -> Item {
    let blank = |v: &Value| v.as_str().is_some_and(|s| s.trim().is_empty());
    let fields = item
        .fields
        .iter()
        .filter(|(k, v)| {
            !blank(v)
                || before
                    .and_then(|b| b.get(*k))
                    .is_some_and(|was| !blank(was))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Item {
        key: item.key.clone(),
        fields,
    }
}

/// What a dry run prints for a batch: the `POST contact.php` body [`SmailySink`] would send
/// (the client sends a job's batch as one request), an emptied field included when `state`
/// holds `job`'s last delivered value of it.
pub fn preview_with(batch: &[Item], state: &sync_kit::StateStore, job: &str) -> Vec<Preview> {
    let before = snapshots(batch, Some((state, job))).unwrap_or_else(|e| {
        tracing::warn!(job, error = %e, "the last delivered fields could not be read: emptied fields are not shown");
        vec![None; batch.len()]
    });
    let items: Vec<Item> = batch
        .iter()
        .zip(&before)
        .map(|(i, before)| sendable(i, before.as_ref()))
        .collect();
    preview(&items)
}

/// The last delivered fields of each item of `batch` (one read of the state file; none without
/// a state).
fn snapshots(
    batch: &[Item],
    state: Option<(&sync_kit::StateStore, &str)>,
) -> Result<Vec<Option<serde_json::Map<String, Value>>>, sync_kit::state::StateError> {
    let keys: Vec<&str> = batch.iter().map(|i| i.key.as_str()).collect();
    match state {
        Some((state, job)) => state.snapshots(job, &keys),
        None => Ok(vec![None; batch.len()]),
    }
}

/// What a dry run prints for a batch: the `POST contact.php` body [`SmailySink`] would send
/// (the client sends a job's batch as one request); empty fields are not sent.
pub fn preview(batch: &[Item]) -> Vec<Preview> {
    let rows: Vec<Subscriber> = batch
        .iter()
        .map(|i| sendable(i, None))
        .filter_map(|i| subscriber(&i).ok())
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    vec![Preview::json(
        "POST",
        "/api/contact.php",
        &Subscriber::batch_json(&rows),
    )]
}

fn subscriber(item: &Item) -> Result<Subscriber, String> {
    let email = item
        .fields
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or(&item.key);
    let mut sub = Subscriber::new(email);
    for (name, value) in &item.fields {
        match name.as_str() {
            "email" => {}
            "is_unsubscribed" => {
                sub.is_unsubscribed = Some(
                    matches!(value, Value::Number(n) if n.as_u64() == Some(1))
                        || value == "1"
                        || value == &Value::Bool(true),
                );
            }
            _ => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let name = smaily_client::FieldName::new(name).map_err(|e| e.to_string())?;
                sub = sub.field(name, text);
            }
        }
    }
    Ok(sub)
}

impl Sink for SmailySink<'_> {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let mut outcomes = vec![Outcome::Delivered; batch.len()];
        let mut rows = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        let before = snapshots(
            batch,
            self.snapshots
                .as_ref()
                .map(|(state, job)| (*state, job.as_str())),
        );
        // Without the last delivered fields an emptied field would go unsent and the record
        // count as delivered (its empty value then stored as delivered): the batch fails
        // instead, retryable, and nothing is sent.
        let before = match before {
            Ok(before) => before,
            Err(e) => {
                let error = format!("reading the last delivered fields from the state failed: {e}");
                return Delivery::all(batch.len(), Outcome::failed(error, true), 0);
            }
        };
        for (i, (item, before)) in batch.iter().zip(&before).enumerate() {
            match subscriber(&sendable(item, before.as_ref())) {
                Ok(sub) => {
                    rows.push(sub);
                    positions.push(i);
                }
                Err(reason) => outcomes[i] = Outcome::failed(reason, false),
            }
        }
        // Every attempt the client sends for this batch (retries included), counted where it
        // is sent: exact while other batches are in flight.
        let (answers, requests) = count_requests(self.client.upsert_many(&rows)).await;
        for (outcome, i) in answers.into_iter().zip(positions) {
            outcomes[i] = match outcome.result {
                Ok(()) => Outcome::Delivered,
                Err(ItemError::Rejected { code, message }) => {
                    Outcome::failed(format!("Smaily rejected it ({code}): {message}"), false)
                }
                Err(ItemError::Failed(err)) => {
                    Outcome::failed(error_chain(&*err), err.is_retryable())
                }
                Err(other) => Outcome::failed(other.to_string(), other.is_retryable()),
            };
        }
        Delivery { outcomes, requests }
    }
}

/// Runs the job once per the flags: a normal run, a dry run, or a replay of parked failures.
pub async fn run_once(
    args: &CommonArgs,
    config: &Config,
    endpoints: &Endpoints,
    state: &sync_kit::StateStore,
) -> Result<Summary, Error> {
    match endpoints.smaily.as_ref().filter(|_| !args.dry_run) {
        Some(smaily) => {
            let sink = SmailySink::new(smaily.clone()).with_snapshots(state, &config.job.name);
            run_into(args, config, endpoints, state, &sink).await
        }
        None => {
            let job = config.job.name.as_str();
            let sink = DryRun(|batch: &[Item]| preview_with(batch, state, job));
            run_into(args, config, endpoints, state, &sink).await
        }
    }
}

async fn run_into<K: Sink>(
    args: &CommonArgs,
    config: &Config,
    endpoints: &Endpoints,
    state: &sync_kit::StateStore,
    sink: &K,
) -> Result<Summary, Error> {
    let tz = config.time_zone()?;
    let read_from = args.read_from(state, &config.job, &tz)?;
    let read_until = args.read_until(&tz);
    let ctx = RunContext {
        job: &config.job,
        state,
        dry_run: args.dry_run,
        force: args.force,
        read_from: if args.replay_failed {
            None
        } else {
            Some(read_from)
        },
        read_until,
        progress: args.progress(),
        stop: sync_kit::Stop::process(),
    };
    if args.replay_failed {
        return sync_kit::replay_failed(ctx, sink).await;
    }
    tracing::info!(job = %config.job.name, from = %read_from, "reading Directo customers");
    let query = directo_client::Query::new().since(read_from);
    let stream = open_read::<directo_client::Record>(&endpoints.directo, "customer", query).await?;
    let records = stream.map(|customer| source_record(customer, |c| prepare(config, &c)));
    sync_kit::run(ctx, records, sink).await
}

/// Refuses to go on when another live process runs `job` (before any request).
pub(crate) fn refuse_overlap(state: &StateStore, job: &str) -> Result<(), Error> {
    match state.running_elsewhere(job)? {
        Some(other) => Err(sync_kit::cli::already_running(job, &other)),
        None => Ok(()),
    }
}

/// Logs a run of `job` that failed in its setup, after its first request (credentials refused,
/// a server refusing the login), as failed with `error`: `--status` shows it, and the state
/// file is kept for it (issue 20 point 7). Its start is when the failure was logged.
pub(crate) fn log_setup_failure(args: &CommonArgs, state: &StateStore, job: &str, error: &Error) {
    let mode = if args.replay_failed {
        sync_kit::Mode::ReplayFailed
    } else {
        sync_kit::Mode::Run
    };
    let logged = match state.claim_run(job, mode) {
        Ok(sync_kit::state::Begun::Started(_)) => state.fail_claim(job, &error.one_line()),
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = logged {
        tracing::error!(job, "cannot record the run in the run log: {e}");
    }
}

/// Checks the Smaily credentials with one cheap read, so wrong ones are a configuration error
/// (exit 2) rather than every record parked as failed. Other errors only log a warning.
pub async fn check_smaily(client: &smaily_client::Client) -> Result<(), Error> {
    match client.subscriber("credentials-check@example.com").await {
        Ok(_) => Ok(()),
        Err(
            e @ (smaily_client::Error::Unauthorized { .. }
            | smaily_client::Error::PlanBlocked { .. }),
        ) => Err(Error::Config(format!(
            "Smaily refused the credentials: {}",
            error_chain(&e)
        ))),
        Err(e @ smaily_client::Error::NotFound { .. }) => Err(Error::Config(format!(
            "Smaily has no API at {} (check SMAILY_SUBDOMAIN or SMAILY_BASE_URL): {}",
            client.base_url(),
            error_chain(&e)
        ))),
        Err(e) => {
            // A transient problem now is not a reason to skip the run: its records get retried
            // and, at worst, parked.
            tracing::warn!(error = %error_chain(&e), "Smaily credentials check failed; running anyway");
            Ok(())
        }
    }
}

#[cfg(feature = "sandbox")]
/// The sandbox: both fakes, seeded (or restored from the sandbox file beside `--state`), and
/// endpoints pointing at them.
pub struct Sandbox {
    /// The Directo fake.
    pub directo: directo_client::fake::FakeDirecto,
    /// The Smaily fake.
    pub smaily: smaily_client::fake::FakeSmaily,
    file: SandboxFile,
}

/// How many demo customers the sandbox seeds.
#[cfg(feature = "sandbox")]
pub const SANDBOX_CUSTOMERS: usize = 3_000;

#[cfg(feature = "sandbox")]
impl Sandbox {
    /// Starts both fakes: Directo with `customers` demo customers changed within the 12 hours
    /// before the sandbox's demo time, Smaily with what `file` kept (else empty).
    pub async fn start(
        customers: usize,
        config: &Config,
        file: SandboxFile,
    ) -> Result<(Self, Endpoints), Error> {
        let directo = directo_client::fake::FakeDirecto::start().await;
        let tz = config.time_zone()?;
        let now = file.demo_time().to_zoned(tz).datetime();
        crate::shared::directo::seed(
            &directo,
            &crate::shared::demo_customers::customers(customers, now, 12 * 60),
        );
        let smaily = smaily_client::fake::FakeSmaily::start().await;
        if let Some(saved) = file.section("smaily") {
            super::demo::restore_smaily(&smaily, saved);
        }
        let reader = sandbox_directo(&directo, &config.directo)?;
        let client = tune_smaily(smaily.client_builder(), config)
            .build()
            .map_err(|e| Error::Config(format!("Smaily client: {e}")))?;
        Ok((
            Sandbox {
                directo,
                smaily,
                file,
            },
            Endpoints {
                directo: reader,
                smaily: Some(client),
            },
        ))
    }
}

#[cfg(feature = "sandbox")]
impl crate::shared::sandbox::Fakes for Sandbox {
    /// Saves what the Smaily fake holds beside the state file (a warning if that fails).
    fn save(&self) {
        let sections = [("smaily", super::demo::smaily_state(&self.smaily))];
        if let Err(e) = self.file.save(sections) {
            tracing::warn!("sandbox state not kept: {}", e.one_line());
        }
    }

    /// The closing line: what the Smaily fake holds, and the requests both fakes saw.
    fn closing_line(&self) -> String {
        use smaily_client::fake::FakeService as _;
        crate::shared::sandbox::closing_line(
            "Smaily",
            &[count(self.smaily.subscriber_count() as u64, "subscriber")],
            &[
                count(
                    directo_client::fake::FakeService::request_count(&self.directo),
                    "Directo request",
                ),
                count(self.smaily.request_count(), "Smaily request"),
                "the credentials check included".into(),
            ],
        )
    }
}

/// The whole binary: flags → config → endpoints (or sandbox) → runs → exit code. Everything
/// that can be wrong with the flags or the config is found before the state file is opened,
/// so none is created for nothing; from the first request on (the Smaily credentials check),
/// a failure is a failed run in the run log.
pub async fn main(args: CommonArgs) -> sync_kit::ExitCode {
    sync_kit::progress::init_logging();
    if args.check {
        return super::preflight::check(&args).await;
    }
    sync_kit::stop::listen();
    let guard = StateGuard::new(&args);
    let setup = async {
        env::load_dotenv()?;
        let config = match &args.config {
            Some(path) => Config::load(path)?,
            None => {
                let mut config = Config::default();
                config.job.default_name(super::JOB_NAME);
                config
            }
        };
        if let Some(code) = sync_kit::cli::inspect(&args, &config.job) {
            return Ok(Err(code));
        }
        #[cfg(feature = "sandbox")]
        let started = match args.sandbox {
            true => {
                let file = SandboxFile::open(&args)?;
                Some(Sandbox::start(SANDBOX_CUSTOMERS, &config, file).await?)
            }
            false => None,
        };
        #[cfg(not(feature = "sandbox"))]
        let started = Sandbox::start(args.sandbox)?;
        let (sandbox, endpoints) = match started {
            Some((sandbox, endpoints)) => (Some(sandbox), endpoints),
            None => (None, endpoints_from_env(&config, !args.dry_run)?),
        };
        // Everything above sends nothing: its errors leave no state file. From the first
        // request on, a failure is a run in the run log, with its error.
        let state = args.open_state()?;
        if let Some(smaily) = endpoints.smaily.as_ref().filter(|_| !args.dry_run) {
            refuse_overlap(&state, &config.job.name)?;
            if let Err(e) = check_smaily(smaily).await {
                log_setup_failure(&args, &state, &config.job.name, &e);
                return Err(e);
            }
        }
        Ok::<_, Error>(Ok((config, state, sandbox, endpoints)))
    };
    // The set-up's requests (the credentials check) are counted into the first run.
    let (setup, startup) = count_requests(setup).await;
    let (config, state, sandbox, endpoints) = match setup {
        Ok(Ok(ok)) => ok,
        Ok(Err(code)) => return code,
        Err(e) => return report_error(args.json, &e),
    };
    let job = async |state: &StateStore| run_once(&args, &config, &endpoints, state).await;
    run_job(&args, &config.job.name, sandbox, guard, state, startup, job).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smaily_api_root_ends_in_api() {
        let root = |v: &str| smaily_api_root("SMAILY_BASE_URL", v).map(|(u, _)| u.to_string());
        assert_eq!(
            root("https://a.sendsmaily.net/api/").unwrap(),
            "https://a.sendsmaily.net/api/"
        );
        assert_eq!(
            root("https://a.sendsmaily.net/api").unwrap(),
            "https://a.sendsmaily.net/api/"
        );
        assert_eq!(
            root("https://a.sendsmaily.net").unwrap(),
            "https://a.sendsmaily.net/api/"
        );
        assert_eq!(
            root("http://127.0.0.1:9/proxy/api").unwrap(),
            "http://127.0.0.1:9/proxy/api/"
        );
        let err = root("https://a.sendsmaily.net/smaily/").unwrap_err();
        assert!(err.to_string().contains("contact.php"), "{err}");
    }

    /// The last delivered fields decide whether an emptied field is sent (a clear). When they
    /// cannot be read, the batch fails (retryable, so retried then parked) and nothing is sent:
    /// delivering it without them would count it delivered, store the empty value as its
    /// snapshot, and so never clear the value in Smaily.
    #[cfg(feature = "sandbox")]
    #[tokio::test]
    async fn a_state_whose_snapshots_cannot_be_read_fails_the_batch_and_sends_nothing() {
        use smaily_client::fake::FakeService as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = sync_kit::StateStore::open(&path).unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("DROP TABLE snapshots")
            .unwrap();
        let fake = smaily_client::fake::FakeSmaily::start().await;
        let sink = SmailySink::new(fake.client()).with_snapshots(&state, "job");
        let item = Item {
            key: "a@example.com".into(),
            fields: serde_json::from_value(
                serde_json::json!({"email": "a@example.com", "name": ""}),
            )
            .unwrap(),
        };
        let delivery = sink.deliver(&[item]).await;
        assert_eq!(fake.request_count(), 0, "{:?}", fake.requests());
        assert_eq!(delivery.requests, 0);
        match &delivery.outcomes[..] {
            [Outcome::Failed { error, retryable }] => {
                assert!(*retryable, "{error}");
                assert!(error.contains("state"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }
}
