//! Running the job: endpoints from the environment (or the sandbox fakes), the Smaily sink, the
//! Directo source, and one run.

use futures::StreamExt;
use serde_json::Value;
use smaily_client::{Subscriber, UpsertResult};

use super::{Config, DirectoConfig, prepare};
use crate::{BoxError, CommonArgs, Delivery, Error, Item, Outcome, RunContext, Sink, Summary, env};
use directo_client::Auth;

/// The two ends of the job.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Where customers come from.
    pub directo: directo_client::Client,
    /// Where subscribers go.
    pub smaily: smaily_client::Client,
}

/// Builds the endpoints from `DIRECTO_*` and `SMAILY_*` environment variables.
pub fn endpoints_from_env(config: &Config) -> Result<Endpoints, Error> {
    let directo = directo_from_env(&config.directo)?;

    let user = env::required("SMAILY_USER", "the Smaily API user")?;
    let password = env::required("SMAILY_PASSWORD", "the Smaily API password")?;
    let subdomain = env::optional("SMAILY_SUBDOMAIN");
    let mut builder = match (subdomain, env::optional("SMAILY_BASE_URL")) {
        (subdomain, Some(base)) => {
            let (url, allow_http) = env::base_url("SMAILY_BASE_URL", &base)?;
            smaily_client::Client::builder(
                subdomain.unwrap_or_else(|| "override".into()),
                user,
                password,
            )
            .base_url(url.to_string())
            .allow_http(allow_http)
        }
        (Some(subdomain), None) => smaily_client::Client::builder(subdomain, user, password),
        (None, None) => {
            return Err(Error::Config(
                "SMAILY_SUBDOMAIN is not set (the part before .sendsmaily.net); set it in the environment or .env, or try --sandbox".into(),
            ));
        }
    };
    builder = tune_smaily(builder, config);
    let smaily = builder
        .build()
        .map_err(|e| Error::Config(format!("Smaily client: {e}")))?;
    Ok(Endpoints { directo, smaily })
}

/// A Directo client from `DIRECTO_URL` and `DIRECTO_KEY` (legacy app key) or `DIRECTO_TOKEN`
/// (XML Direct, whose URL is fixed unless `DIRECTO_URL` overrides it). Shared by every sync that
/// reads Directo.
pub(crate) fn directo_from_env(config: &DirectoConfig) -> Result<directo_client::Client, Error> {
    let (auth, is_token) = match (env::optional("DIRECTO_KEY"), env::optional("DIRECTO_TOKEN")) {
        (Some(_), Some(_)) => {
            return Err(Error::Config(
                "set DIRECTO_KEY (legacy app key) or DIRECTO_TOKEN (XML Direct), not both".into(),
            ));
        }
        (Some(key), None) => (Auth::app_key(key), false),
        (None, Some(token)) => (Auth::token(token), true),
        (None, None) => {
            return Err(Error::Config(
                "DIRECTO_KEY or DIRECTO_TOKEN is not set (Directo credentials); set one in the environment or .env, or try --sandbox".into(),
            ));
        }
    };
    let mut builder = directo_client::Client::builder(auth).timeout(config.timeout);
    match env::optional("DIRECTO_URL") {
        Some(url) => {
            let (url, allow_http) = env::base_url("DIRECTO_URL", &url)?;
            builder = builder.base_url(url.to_string()).allow_http(allow_http);
        }
        None if is_token => {} // XML Direct's fixed URL
        None => {
            return Err(Error::Config(
                "DIRECTO_URL is not set (your company's xmlcore URL, e.g. https://login.directo.ee/xmlcore/<db>/xmlcore.asp)".into(),
            ));
        }
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("Directo client: {e}")))
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
#[derive(Debug)]
pub struct SmailySink {
    client: smaily_client::Client,
}

impl SmailySink {
    /// A sink over `client` (whose batch size should be the job's).
    pub fn new(client: smaily_client::Client) -> Self {
        Self { client }
    }
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
                sub = sub.field(name, text).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(sub)
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

impl Sink for SmailySink {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let mut outcomes = vec![Outcome::Delivered; batch.len()];
        let mut rows = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for (i, item) in batch.iter().enumerate() {
            match subscriber(item) {
                Ok(sub) => {
                    rows.push(sub);
                    positions.push(i);
                }
                Err(reason) => outcomes[i] = Outcome::failed(reason, false),
            }
        }
        for (outcome, i) in self
            .client
            .upsert_many(rows)
            .await
            .into_iter()
            .zip(positions)
        {
            outcomes[i] = match outcome.result {
                UpsertResult::Delivered => Outcome::Delivered,
                UpsertResult::Rejected { code, message } => {
                    Outcome::failed(format!("Smaily rejected it ({code}): {message}"), false)
                }
                UpsertResult::Failed(err) => {
                    Outcome::failed(error_chain(&*err), err.is_retryable())
                }
            };
        }
        Delivery {
            outcomes,
            requests: 1,
        }
    }
}

/// Runs the job once per the flags: a normal run, a dry run, or a replay of parked failures.
pub async fn run_once(
    args: &CommonArgs,
    config: &Config,
    endpoints: &Endpoints,
    state: &crate::StateStore,
) -> Result<Summary, Error> {
    let tz = config.time_zone()?;
    let sink = SmailySink::new(endpoints.smaily.clone());
    let requests_before = endpoints.smaily.requests_sent();
    let read_from = args.read_from(state, &config.job, &tz)?;
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
        progress: args.progress(),
    };
    let mut summary = if args.replay_failed {
        crate::replay_failed(ctx, &sink).await?
    } else {
        tracing::info!(job = %config.job.name, from = %read_from, "reading Directo customers");
        let query = directo_client::Query::new().since(read_from);
        let stream =
            open_read::<directo_client::Record>(&endpoints.directo, "customer", query).await?;
        let records = stream.map(|customer| source_record(customer, |c| prepare(config, &c)));
        crate::run(ctx, records, &sink).await?
    };
    if !args.dry_run {
        summary.requests = endpoints.smaily.requests_sent() - requests_before;
    }
    Ok(summary)
}

/// Starts a Directo read of `what` and waits for its first record, so that refused credentials
/// (which arrive as the stream's first item) become a configuration error (exit 2) instead of an
/// aborted run. Later errors stay in the stream: see [`source_record`].
pub(crate) async fn open_read<T: directo_client::FromRecord>(
    client: &directo_client::Client,
    what: &str,
    query: directo_client::Query,
) -> Result<impl futures::Stream<Item = Result<T, BoxError>> + use<T>, Error> {
    let mut stream = client
        .read::<T>(what, query)
        .map(|r| r.map_err(|e| Box::new(e) as BoxError))
        .peekable();
    if let Some(Err(e)) = std::pin::Pin::new(&mut stream).peek().await
        && !record_scoped(e)
        && let Some(Err(e)) = stream.next().await
    {
        return Err(source_error(e));
    }
    Ok(stream)
}

fn record_scoped(e: &BoxError) -> bool {
    e.downcast_ref::<directo_client::Error>()
        .is_some_and(directo_client::Error::is_record_scoped)
}

/// One item of a Directo read as the runner's source record: a decoded record through
/// `prepare`; a record Directo sent but that cannot be decoded (invalid UTF-8, a bad number)
/// as a filtered record with the error as its reason and its code (else "record N") as its
/// id, so the other records still go through; any other error stays an error and ends the run.
pub(crate) fn source_record<T>(
    item: Result<T, BoxError>,
    prepare: impl FnOnce(T) -> crate::SourceRecord,
) -> Result<crate::SourceRecord, BoxError> {
    match item {
        Ok(record) => Ok(prepare(record)),
        Err(e) => match e.downcast_ref::<directo_client::Error>() {
            Some(error @ directo_client::Error::Record { record, code, .. }) => {
                Ok(crate::SourceRecord {
                    id: code.clone().unwrap_or_else(|| format!("record {record}")),
                    watermark: None,
                    verdict: crate::Verdict::Reject(error.to_string()),
                })
            }
            _ => Err(e),
        },
    }
}

/// A Directo client for a sandbox fake.
pub(crate) fn sandbox_directo(
    fake: &directo_client::fake::FakeDirecto,
    config: &DirectoConfig,
) -> Result<directo_client::Client, Error> {
    directo_client::Client::builder(Auth::token(directo_client::fake::FakeDirecto::TOKEN))
        .base_url(fake.base_url())
        .allow_http(true)
        .timeout(config.timeout)
        .build()
        .map_err(|e| Error::Config(format!("Directo client: {e}")))
}

fn source_error(e: BoxError) -> Error {
    if let Some(directo_client::Error::Unauthorized { .. }) =
        e.downcast_ref::<directo_client::Error>()
    {
        Error::Config(format!("Directo refused the credentials: {e}"))
    } else {
        Error::Source(e)
    }
}

/// Checks the Smaily credentials with one cheap read, so wrong ones are a configuration error
/// (exit 2) rather than every record parked as failed. Other errors only log a warning.
pub async fn check_smaily(client: &smaily_client::Client) -> Result<(), Error> {
    match client.subscriber("credentials-check@example.com").await {
        Ok(_) => Ok(()),
        Err(
            e @ (smaily_client::Error::Unauthorized { .. }
            | smaily_client::Error::PlanBlocked { .. }
            | smaily_client::Error::NotFound { .. }),
        ) => Err(Error::Config(error_chain(&e))),
        Err(e) => {
            // A transient problem now is not a reason to skip the run: its records get retried
            // and, at worst, parked.
            tracing::warn!(error = %error_chain(&e), "Smaily credentials check failed; running anyway");
            Ok(())
        }
    }
}

/// The sandbox: both fakes, seeded, and endpoints pointing at them.
pub struct Sandbox {
    /// The Directo fake.
    pub directo: directo_client::fake::FakeDirecto,
    /// The Smaily fake.
    pub smaily: smaily_client::fake::FakeSmaily,
}

/// How many demo customers the sandbox seeds.
pub const SANDBOX_CUSTOMERS: usize = 3_000;

impl Sandbox {
    /// Starts both fakes with `customers` demo customers changed within the last 12 hours.
    pub async fn start(customers: usize, config: &Config) -> Result<(Self, Endpoints), Error> {
        let directo = directo_client::fake::FakeDirecto::start().await;
        let tz = config.time_zone()?;
        let now = jiff::Timestamp::now().to_zoned(tz).datetime();
        super::directo::seed(&directo, &super::demo::customers(customers, now, 12 * 60));
        let smaily = smaily_client::fake::FakeSmaily::start().await;
        let reader = sandbox_directo(&directo, &config.directo)?;
        let client = tune_smaily(smaily.client_builder(), config)
            .build()
            .map_err(|e| Error::Config(format!("Smaily client: {e}")))?;
        Ok((
            Sandbox { directo, smaily },
            Endpoints {
                directo: reader,
                smaily: client,
            },
        ))
    }
}

/// The whole binary: flags → config → endpoints (or sandbox) → runs → exit code.
pub async fn main(args: CommonArgs) -> crate::ExitCode {
    crate::progress::init_logging();
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
        let state = args.open_state()?;
        Ok::<_, Error>((config, state))
    };
    let (config, state) = match setup.await {
        Ok(ok) => ok,
        Err(e) => return report(&args, e),
    };
    let (sandbox, endpoints) = if args.sandbox {
        match Sandbox::start(SANDBOX_CUSTOMERS, &config).await {
            Ok((sandbox, endpoints)) => (Some(sandbox), endpoints),
            Err(e) => return report(&args, e),
        }
    } else {
        match endpoints_from_env(&config) {
            Ok(endpoints) => (None, endpoints),
            Err(e) => return report(&args, e),
        }
    };
    if !args.dry_run
        && let Err(e) = check_smaily(&endpoints.smaily).await
    {
        return report(&args, e);
    }
    tracing::info!(
        job = %config.job.name,
        state = %args.state_description(),
        sandbox = args.sandbox,
        "starting"
    );
    let code = crate::main_loop(&args, || run_once(&args, &config, &endpoints, &state)).await;
    if let Some(sandbox) = sandbox
        && !args.json
    {
        eprintln!(
            "\nsandbox: the Smaily fake now holds {} subscribers ({} Directo requests, {} Smaily requests incl. the credentials check).",
            sandbox.smaily.subscriber_count(),
            sandbox.directo.requests().len(),
            sandbox.smaily.request_count()
        );
    }
    code
}

fn report(args: &CommonArgs, e: Error) -> crate::ExitCode {
    let line = e.one_line();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "error": line, "exit_code": e.exit_code() })
        );
    }
    eprintln!("error: {line}");
    e.exit_code()
}
