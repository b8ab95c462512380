//! The supervision service through its gRPC client, on SQLite and on PostgreSQL.

mod cases;
