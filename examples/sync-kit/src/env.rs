//! Credentials and endpoints from environment variables (and a `.env` file, if present).
//! Secrets never come from the config file or the command line.

use std::net::IpAddr;

use secrecy::SecretString;
use url::Url;

use crate::Error;

#[cfg(feature = "cli")]
/// Loads `./.env` (or the first `.env` up the directory tree) into the environment if there is
/// one; variables already set win. A malformed file is a configuration error.
pub fn load_dotenv() -> Result<(), Error> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(Error::Config(format!(".env: {e}"))),
    }
}

/// A variable's value, if set and non-empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A required variable, or a configuration error naming it (and pointing at `--sandbox`,
/// which needs none).
pub fn required(name: &str, what: &str) -> Result<String, Error> {
    optional(name).ok_or_else(|| {
        Error::Config(format!(
            "{name} is not set ({what}); set it in the environment or in .env, or try --sandbox"
        ))
    })
}

/// A required variable the sandbox cannot stand in for (the SFTP settings: there is no SFTP
/// sandbox), or a configuration error naming it.
pub fn required_no_sandbox(name: &str, what: &str) -> Result<String, Error> {
    optional(name).ok_or_else(|| {
        Error::Config(format!(
            "{name} is not set ({what}); set it in the environment or in .env"
        ))
    })
}

/// A required secret.
pub fn secret(name: &str, what: &str) -> Result<SecretString, Error> {
    required(name, what).map(SecretString::from)
}

/// Whether `url` points at this machine (where plain http is acceptable).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses a base-URL override from variable `name`. `https` is always accepted; plain `http`
/// only on loopback (a local fake or proxy). Returns the URL and whether http must be allowed.
pub fn base_url(name: &str, value: &str) -> Result<(Url, bool), Error> {
    let url = Url::parse(value.trim())
        .map_err(|e| Error::Config(format!("{name} is not a URL ({e}): {value:?}")))?;
    match url.scheme() {
        "https" => Ok((url, false)),
        "http" if is_loopback(&url) => Ok((url, true)),
        "http" => Err(Error::Config(format!(
            "{name} uses plain http on a non-loopback host; use https (http is allowed only on 127.0.0.1/localhost)"
        ))),
        other => Err(Error::Config(format!(
            "{name} has unsupported scheme {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_on_loopback() {
        assert!(!base_url("X", "https://a.example.com/api").unwrap().1);
        assert!(base_url("X", "http://127.0.0.1:8080").unwrap().1);
        assert!(base_url("X", "http://localhost:1/").unwrap().1);
        assert!(base_url("X", "http://[::1]:1/").unwrap().1);
        let err = base_url("X", "http://10.0.0.1/").unwrap_err();
        assert!(matches!(err, Error::Config(ref m) if m.contains("loopback")));
        assert!(base_url("X", "ftp://127.0.0.1/").is_err());
        assert!(base_url("X", "not a url").is_err());
    }
}
