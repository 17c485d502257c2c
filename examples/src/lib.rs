//! The sync toolkit shared by the template syncs.
