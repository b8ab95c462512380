//! The analytics service, on SQLite and on PostgreSQL: known event sequences (with duplicates and
//! out-of-order delivery across services) ingested, and every figure read through the gRPC client checked
//! against hand-computed values.

mod bus;
mod cases;
mod contacts;
mod demands;
mod errors;
mod export;
mod fixtures;
mod long_running;
mod order;
mod programme;
