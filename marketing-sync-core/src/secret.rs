//! A secret that never shows itself.

use std::fmt;

use base64::Engine as _;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// A password, API key or token: zeroed on drop (`secrecy`), `[REDACTED]` in `Debug` and
/// `Display`, readable only through [`expose`](Secret::expose).
///
/// ```
/// let key = marketing_sync_core::Secret::new("s3cret");
/// assert_eq!(format!("{key:?} {key}"), "[REDACTED] [REDACTED]");
/// assert_eq!(key.expose(), "s3cret");
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret.
    ///
    /// ```
    /// let token = marketing_sync_core::Secret::new(String::from("t0ken"));
    /// assert_eq!(token.expose(), "t0ken");
    /// ```
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(SecretString::from(secret.into()))
    }

    /// The secret itself, for the one place that sends it.
    ///
    /// ```
    /// assert!(!marketing_sync_core::Secret::new("k").expose().is_empty());
    /// ```
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// An `Authorization: Basic …` value for `user` with this secret as the password, marked
    /// sensitive (kept out of `reqwest`'s and `hyper`'s debug output).
    ///
    /// ```
    /// let value = marketing_sync_core::Secret::new("p").basic_auth("u").unwrap();
    /// assert_eq!(value.to_str().unwrap(), "Basic dTpw");
    /// assert!(value.is_sensitive());
    /// ```
    pub fn basic_auth(&self, user: &str) -> Result<HeaderValue> {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", self.expose()));
        sensitive(format!("Basic {credentials}"))
    }

    /// An `Authorization: Bearer …` value, marked sensitive.
    ///
    /// ```
    /// let value = marketing_sync_core::Secret::new("t").bearer().unwrap();
    /// assert_eq!(value.to_str().unwrap(), "Bearer t");
    /// ```
    pub fn bearer(&self) -> Result<HeaderValue> {
        sensitive(format!("Bearer {}", self.expose()))
    }
}

fn sensitive(value: String) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        Error::Config("credentials contain characters not allowed in a header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shown() {
        let s = Secret::from("hunter2");
        assert!(!format!("{s:?}{s}{:?}", Some(s.clone())).contains("hunter2"));
        assert!(Secret::new("a\nb").bearer().is_err());
        let err = Secret::new("a\nb").bearer().unwrap_err();
        assert!(!err.to_string().contains("a\nb"));
    }
}
