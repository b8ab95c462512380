//! Consultation's events: sessions, suggestions, special reports and instructions, services delivered.

use tingjian_proto::common::v1::Event;
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::storage::Tx;

use super::facts::{self, SuggestionRow};
use super::{Entity, IngestError, Merge, decode};

pub(super) async fn merge(tx: &mut Tx, m: &mut Merge, name: &str, event: &Event) -> Result<(), IngestError> {
    match name {
        "session_closed" => {
            let p: pb::SessionClosed = decode(event)?;
            facts::merge_session(tx, &p.session_id, p.format, m.stamp.time).await?;
            facts::add_speakers(tx, &p.session_id, &p.speaking_enterprise_ids).await?;
            m.touch(Entity::Session(p.session_id));
        }
        "suggestion_submitted" => {
            let p: pb::SuggestionSubmitted = decode(event)?;
            let row = SuggestionRow { category: p.category, submit_time: m.stamp.time };
            facts::merge_suggestion(tx, &p.suggestion_id, &row).await?;
            m.touch(Entity::Suggestion(p.suggestion_id));
        }
        "special_report_sent" => {
            let p: pb::SpecialReportSent = decode(event)?;
            let mut row = facts::load_report(tx, &p.special_report_id).await?.unwrap_or_default();
            row.sent(m.stamp.time, p.category);
            facts::save_report(tx, &p.special_report_id, &row).await?;
            m.touch(Entity::Report(p.special_report_id));
        }
        "instruction_recorded" => {
            let p: pb::InstructionRecorded = decode(event)?;
            let mut row = facts::load_report(tx, &p.special_report_id).await?.unwrap_or_default();
            if !row.instructed {
                row.instructed = true;
                facts::save_report(tx, &p.special_report_id, &row).await?;
            }
            m.touch(Entity::Report(p.special_report_id));
        }
        "service_item_delivered" => {
            let p: pb::ServiceItemDelivered = decode(event)?;
            facts::insert_delivery(tx, &p.entry_id, &p.enterprise_id, m.stamp.time).await?;
        }
        _ => {}
    }
    Ok(())
}
