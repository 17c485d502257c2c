pub mod directo;
pub mod proxy;
