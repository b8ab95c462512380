//! The consultation service through its gRPC client, on SQLite and on PostgreSQL, with intake and
//! supervision running beside it as separate servers: plans and topics drawn from real common issues,
//! invitations by the stakeholder principle, sessions and their contributions, suggestions, special
//! reports and instructions, assignment to supervision, service teams and the think tank.

mod assignment;
mod end_to_end;
mod experts;
mod invitations;
mod plans;
mod reports;
mod sessions;
mod suggestions;
mod teams;
mod topics;
