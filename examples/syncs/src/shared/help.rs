//! What every binary's `--help` ends with: the environment variables it reads and the exit
//! codes it returns (see [`sync_kit::cli::parse_with_help`]).

/// The variables every sync reads, and the exit codes; after a binary's own variables.
const COMMON: &str = "  SYNC_CONFIG          the job's TOML config (--config)
  SYNC_STATE           the state file (--state; default ./sync-state.db)
  SYNC_METRICS_FILE    write Prometheus metrics here after every run (--metrics-file)
  SYNC_METRICS_PUSH    push Prometheus metrics to this Pushgateway (--metrics-push)
  RUST_LOG             log level on stderr (default info; warn on a terminal)
  A .env file in the working directory is read first; variables already set win.

Exit codes:
  0  every record delivered, filtered or skipped; --status: the job is healthy
  1  records parked after every retry, or a service failed (the run is logged as failed);
     --status: the last run failed or was interrupted, or records are parked
  2  usage, configuration, input-file or credentials error (a new state file is not kept);
     --status: no state file, or no run of the job in it
  3  stopped by SIGINT or SIGTERM: the batches in flight settled, the next run resumes the rest";

const DIRECTO: &str = "  DIRECTO_URL          your company's xmlcore URL (https://login.directo.ee/xmlcore/<db>/xmlcore.asp)
  DIRECTO_TOKEN        the XML Direct token (or DIRECTO_KEY, the legacy app key; not both)
";

/// The end of `directo-to-smaily --help`.
pub fn directo_to_smaily() -> String {
    format!(
        "Environment variables:\n{DIRECTO}  SMAILY_SUBDOMAIN     the part before .sendsmaily.net (or SMAILY_BASE_URL, the API root)
  SMAILY_USER          the Smaily API user
  SMAILY_PASSWORD      the Smaily API password
{COMMON}"
    )
}

/// The end of `segment-to-splio --help`.
pub fn segment_to_splio() -> String {
    format!(
        "Environment variables:
  SPLIO_API_KEY        the Splio API key (SPLIO_BASE_URL: another API root)
  SPLIO_UNIVERSE       the Splio universe, for Datahub file names (--delivery sftp)
  SPLIO_SFTP_HOST      the Splio SFTP host (--delivery sftp; SPLIO_SFTP_PORT, default 22)
  SPLIO_SFTP_USER      the SFTP user
  SPLIO_SFTP_KEY       the SFTP private key file (or SPLIO_SFTP_PASSWORD; not both)
{DIRECTO}{COMMON}"
    )
}

/// The end of `messaging --help` and its subcommands'.
pub fn messaging() -> String {
    format!(
        "Environment variables:
  MESSAGING_API_KEY    the messaging API key (MESSAGING_BASE_URL: another API root)
{DIRECTO}  (DIRECTO_* for directo-orders only; SYNC_* for the sync subcommands only)
{COMMON}"
    )
}
