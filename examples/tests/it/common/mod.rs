pub mod directo;
pub mod proxy;
pub mod sync_bin;
