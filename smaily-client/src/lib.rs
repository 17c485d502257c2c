//! Typed async client for the Smaily email-marketing API.
