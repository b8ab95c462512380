//! team.
