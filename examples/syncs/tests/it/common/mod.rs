pub mod directo;
pub mod directo_to_smaily;
pub mod proxy;
pub mod sync_bin;
