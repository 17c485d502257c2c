//! Typed async client for the Splio REST API and Datahub SFTP file import.
