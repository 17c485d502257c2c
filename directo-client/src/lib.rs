//! Typed, streaming async client for the Directo ERP XML data-exchange interface.
