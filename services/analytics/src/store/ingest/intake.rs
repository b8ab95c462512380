//! Intake's events: enterprises, contacts, demands, common issues, campaign posts.

use tingjian_proto::common::v1::Event;
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::storage::Tx;

use super::facts::{self, ContactRow, DemandInfo, EnterpriseInfo, PostRow};
use super::{Entity, IngestError, Merge, decode, instant};

/// The rollup value of a demand channel: its enum name, '' when unset or unknown.
fn channel_name(channel: i32) -> String {
    match pb::DemandChannel::try_from(channel) {
        Ok(pb::DemandChannel::Unspecified) | Err(_) => String::new(),
        Ok(c) => c.as_str_name().to_owned(),
    }
}

pub(super) async fn merge(tx: &mut Tx, m: &mut Merge, name: &str, event: &Event) -> Result<(), IngestError> {
    match name {
        "enterprise_registered" => {
            let p: pb::EnterpriseRegistered = decode(event)?;
            let info = EnterpriseInfo {
                name: p.name,
                district: p.district,
                industry: p.industry,
                monitoring_point: p.monitoring_point,
            };
            let mut row = facts::load_enterprise(tx, &p.enterprise_id).await?.unwrap_or_default();
            row.registered(&m.stamp, info);
            facts::save_enterprise(tx, &p.enterprise_id, &row).await?;
            m.touch(Entity::Enterprise(p.enterprise_id));
        }
        "enterprise_updated" => {
            let p: pb::EnterpriseUpdated = decode(event)?;
            let info = EnterpriseInfo {
                name: p.name,
                district: p.district,
                industry: p.industry,
                monitoring_point: p.monitoring_point,
            };
            let mut row = facts::load_enterprise(tx, &p.enterprise_id).await?.unwrap_or_default();
            row.described(&m.stamp, info);
            facts::save_enterprise(tx, &p.enterprise_id, &row).await?;
            m.touch(Entity::Enterprise(p.enterprise_id));
        }
        "contact_logged" => {
            let p: pb::ContactLogged = decode(event)?;
            let contact_time = instant(event, p.contact_time.as_ref(), "contact_time")?.unwrap_or(m.stamp.time);
            let row = ContactRow {
                enterprise_id: p.enterprise_id.clone(),
                contact_time,
                person_times: i64::from(p.briefed_person_times.max(0)),
                district: p.district,
                industry: p.industry,
            };
            facts::insert_contact(tx, &p.contact_id, &row).await?;
            m.touch(Entity::Contact(p.contact_id));
            m.touch(Entity::Enterprise(p.enterprise_id));
        }
        "demand_submitted" => {
            let p: pb::DemandSubmitted = decode(event)?;
            let info = DemandInfo {
                enterprise_id: p.enterprise_id,
                category: p.category,
                channel: channel_name(p.channel),
                district: p.district,
                industry: p.industry,
            };
            let mut row = facts::load_demand(tx, &p.demand_id).await?.unwrap_or_default();
            row.submitted(&m.stamp, info);
            facts::save_demand(tx, &p.demand_id, &row).await?;
            m.touch(Entity::Demand(p.demand_id));
        }
        "demand_updated" => {
            let p: pb::DemandUpdated = decode(event)?;
            let mut row = facts::load_demand(tx, &p.demand_id).await?.unwrap_or_default();
            row.categorised(&m.stamp, p.category);
            facts::save_demand(tx, &p.demand_id, &row).await?;
            m.touch(Entity::Demand(p.demand_id));
        }
        "demand_status_changed" => {
            let p: pb::DemandStatusChanged = decode(event)?;
            let info = DemandInfo {
                enterprise_id: p.enterprise_id,
                category: p.category,
                channel: channel_name(p.channel),
                district: p.district,
                industry: p.industry,
            };
            let mut row = facts::load_demand(tx, &p.demand_id).await?.unwrap_or_default();
            row.status_changed(&m.stamp, p.to_status, info);
            facts::save_demand(tx, &p.demand_id, &row).await?;
            m.touch(Entity::Demand(p.demand_id));
        }
        "common_issue_formed" => {
            let p: pb::CommonIssueFormed = decode(event)?;
            let mut row = facts::load_common_issue(tx, &p.common_issue_id).await?.unwrap_or_default();
            row.formed(&m.stamp, p.category);
            merge_members(tx, m, &p.common_issue_id, row, &p.demand_ids).await?;
        }
        "common_issue_changed" => {
            let p: pb::CommonIssueChanged = decode(event)?;
            let row = facts::load_common_issue(tx, &p.common_issue_id).await?.unwrap_or_default();
            merge_members(tx, m, &p.common_issue_id, row, &p.member_demand_ids).await?;
        }
        "campaign_post_created" => {
            let p: pb::CampaignPostCreated = decode(event)?;
            let row = PostRow {
                campaign_id: p.campaign_id,
                author: p.author.clone(),
                post_time: m.stamp.time,
                enterprise_id: p.enterprise_id,
            };
            facts::insert_post(tx, &p.post_id, &row).await?;
            m.touch(Entity::Post(p.post_id));
            m.touch(Entity::Author(p.author));
        }
        _ => {}
    }
    Ok(())
}

/// Takes the member list of an issue event if it is the latest, and marks every member merged no later
/// than the event.
async fn merge_members(
    tx: &mut Tx,
    m: &mut Merge,
    issue_id: &str,
    mut row: facts::CommonIssueRow,
    members: &[String],
) -> Result<(), IngestError> {
    if row.take_members(&m.stamp) {
        facts::replace_members(tx, issue_id, members).await?;
    }
    facts::save_common_issue(tx, issue_id, &row).await?;
    m.touch(Entity::CommonIssue(issue_id.to_owned()));
    for demand_id in members {
        let mut demand = facts::load_demand(tx, demand_id).await?.unwrap_or_default();
        let merged = facts::min_time(demand.first_merged_time, m.stamp.time);
        if merged != demand.first_merged_time {
            demand.first_merged_time = merged;
            facts::save_demand(tx, demand_id, &demand).await?;
            m.touch(Entity::Demand(demand_id.clone()));
        }
    }
    Ok(())
}
