pub mod notify;
pub mod schedule;
