//! The supervision service through its gRPC client, on SQLite and on PostgreSQL: cases and the working
//! calendar.

mod calendar;
mod cases;
mod fixtures;
