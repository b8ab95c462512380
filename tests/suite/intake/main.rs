//! The intake service through its gRPC client, on SQLite and on PostgreSQL: every operation, with its
//! bad inputs. One module per area.

mod campaigns;
mod common_issues;
mod contacts;
mod demands;
mod enterprises;
mod reference;
mod roundtables;
mod similar;
