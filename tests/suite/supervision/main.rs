//! The supervision service through its gRPC client, on SQLite and on PostgreSQL: cases and the working
//! calendar.

mod benefits;
mod calendar;
mod cases;
mod fixtures;
mod follow_ups;
mod inspection;
mod lifecycle;
mod rectification;
mod sweeps;
