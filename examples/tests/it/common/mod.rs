pub mod directo;
pub mod output;
pub mod proxy;
