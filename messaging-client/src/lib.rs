//! Typed async client for the eSputnik-style messaging API v1 (contacts, events, orders, sends).
