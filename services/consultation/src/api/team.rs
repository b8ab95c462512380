//! The API of service teams (一企一团队), the service menu (菜单式服务) and service lists (服务清单).
//!
//! Who may do what: staff form and change teams, keep the menu and map demands to services; staff, or
//! the member an entry names, record its delivery; every reader role reads. Enterprises and demands
//! are read from intake on behalf of the caller.

use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::intake::v1 as intake;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::error::{checked, gather};
use tingjian_runtime::fields::{etag_version, optional_text, parse_update_mask};
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, read_instant, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::team::{
    Deliverer, Delivery, DemandView, MAX_COMMITTEE_CHARS, MAX_PERSON_ID_CHARS, MENU_LIST, MemberInput, MenuFilter,
    MenuItem, MenuItemChanges, MenuItemFields, NewEntry, NewServiceTeam, Person, PersonInput, ServiceEntry,
    ServiceTeam, TEAMS_LIST, TeamChanges, TeamFields, TeamFilter, TeamInput, TeamMember, check_demand,
    parse_categories, parse_category, parse_committee, parse_item_description, parse_item_title, parse_lead,
    parse_member_id, parse_members, parse_note, parse_plan, unmapped,
};
use crate::peers::OPEN_DEMAND_STATUSES;

/// Roles that may record a delivery (a member only for their own entries).
const DELIVERERS: [Role; 2] = [Role::Staff, Role::Member];

fn person_to_proto(p: Person) -> common::PersonRef {
    common::PersonRef { id: p.id, display_name: p.display_name, title: p.title, organisation_id: p.organisation_id }
}

fn team_to_proto(team: ServiceTeam) -> pb::ServiceTeam {
    pb::ServiceTeam {
        etag: etag(team.version),
        id: team.id,
        enterprise_id: team.enterprise_id,
        lead: Some(person_to_proto(team.fields.lead)),
        committee: team.fields.committee,
        members: team
            .fields
            .members
            .into_iter()
            .map(|m: TeamMember| pb::TeamMember {
                member: Some(person_to_proto(m.person)),
                sector: m.sector,
                expertise: m.expertise,
            })
            .collect(),
        plan: team.fields.plan,
        created_by: team.created_by,
        create_time: Some(timestamp(team.create_time)),
        update_time: Some(timestamp(team.update_time)),
    }
}

fn item_to_proto(item: MenuItem) -> pb::ServiceMenuItem {
    pb::ServiceMenuItem {
        id: item.id,
        title: item.fields.title,
        description: item.fields.description,
        categories: item.fields.categories,
        active: item.active,
        create_time: Some(timestamp(item.create_time)),
        update_time: Some(timestamp(item.update_time)),
    }
}

fn entry_to_proto(entry: ServiceEntry) -> pb::ServiceListEntry {
    pb::ServiceListEntry {
        id: entry.id,
        team_id: entry.team_id,
        enterprise_id: entry.enterprise_id,
        demand_id: entry.fields.demand_id,
        menu_item_id: entry.fields.menu_item_id,
        member_id: entry.fields.member_id,
        status: entry.status.as_i32(),
        note: entry.fields.note,
        delivery_note: entry.delivery_note,
        deliver_time: entry.deliver_time.map(timestamp),
        create_time: Some(timestamp(entry.create_time)),
        update_time: Some(timestamp(entry.update_time)),
    }
}

fn person_input(p: &common::PersonRef) -> PersonInput<'_> {
    PersonInput { id: &p.id, display_name: &p.display_name, title: &p.title, organisation_id: &p.organisation_id }
}

fn member_inputs(members: &[pb::TeamMember]) -> Vec<MemberInput<'_>> {
    members
        .iter()
        .map(|m| MemberInput {
            member: m.member.as_ref().map(person_input),
            sector: &m.sector,
            expertise: &m.expertise,
        })
        .collect()
}

/// An optional filter text: `None` when empty.
fn filter_text(v: &mut Violations, raw: &str, max: usize, field: &str) -> Option<String> {
    v.check(optional_text(raw, max, field)).filter(|s| !s.is_empty())
}

/// A demand status as people read it, e.g. `WITHDRAWN`.
fn demand_status_name(status: i32) -> String {
    intake::DemandStatus::try_from(status).map_or_else(
        |_| format!("in status {status}"),
        |s| s.as_str_name().trim_start_matches("DEMAND_STATUS_").to_owned(),
    )
}

impl ConsultationApi {
    #[tracing::instrument(skip_all, fields(service_team.id))]
    pub(super) async fn create_service_team_impl(
        &self,
        request: Request<pb::CreateServiceTeamRequest>,
    ) -> Result<Response<pb::CreateServiceTeamResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let team = body.team.ok_or_else(|| ServiceError::invalid("team", "is required"))?;
        let mut v = Violations::new();
        let enterprise_id = gather(&mut v, parse_id(&team.enterprise_id, "team.enterprise_id"))?;
        let input = TeamInput {
            lead: team.lead.as_ref().map(person_input),
            committee: &team.committee,
            members: member_inputs(&team.members),
            plan: &team.plan,
        };
        let fields = TeamFields::parse(&mut v, &input, "team");
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let (enterprise_id, fields, request_id) = (checked(enterprise_id)?, checked(fields)?, checked(request_id)?);
        if self.intake.enterprise(&md, &enterprise_id).await?.is_none() {
            return Err(ServiceError::invalid(
                "team.enterprise_id",
                format!("there is no enterprise {enterprise_id} in intake"),
            )
            .into());
        }
        let new = NewServiceTeam { enterprise_id, fields };
        let created = self.store.create_service_team(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("service_team.id", created.id.as_str());
        Ok(Response::new(pb::CreateServiceTeamResponse { team: Some(team_to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_service_team_impl(
        &self,
        request: Request<pb::GetServiceTeamRequest>,
    ) -> Result<Response<pb::GetServiceTeamResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let team = self.store.get_service_team(&id).await?;
        Ok(Response::new(pb::GetServiceTeamResponse { team: Some(team_to_proto(team)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_service_teams_impl(
        &self,
        request: Request<pb::ListServiceTeamsRequest>,
    ) -> Result<Response<pb::ListServiceTeamsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let enterprise_id = match body.enterprise_id.trim() {
            "" => None,
            raw => gather(&mut v, parse_id(raw, "enterprise_id"))?,
        };
        let member_id = filter_text(&mut v, &body.member_id, MAX_PERSON_ID_CHARS, "member_id");
        let committee = filter_text(&mut v, &body.committee, MAX_COMMITTEE_CHARS, "committee");
        v.finish()?;
        let filter = TeamFilter { enterprise_id, member_id, committee };
        let page = PageRequest::parse(body.page_size, &body.page_token, TEAMS_LIST, &filter.digest(), 2)?;
        let found = self.store.list_service_teams(&filter, &page).await?;
        let next_page_token = found.next_token(TEAMS_LIST, &filter.digest());
        Ok(Response::new(pb::ListServiceTeamsResponse {
            teams: found.items.into_iter().map(team_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(service_team.id))]
    pub(super) async fn update_service_team_impl(
        &self,
        request: Request<pb::UpdateServiceTeamRequest>,
    ) -> Result<Response<pb::UpdateServiceTeamResponse>, Status> {
        Caller::of(&request)?.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let team = body.team.ok_or_else(|| ServiceError::invalid("team", "is required"))?;
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&team.id, "team.id"))?;
        let paths = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let paths = gather(&mut v, parse_update_mask(&paths, TeamChanges::PATHS))?.unwrap_or_default();
        let mut changes = TeamChanges::default();
        for path in paths {
            match path {
                "lead" => changes.lead = parse_lead(&mut v, team.lead.as_ref().map(person_input).as_ref(), "team.lead"),
                "committee" => changes.committee = parse_committee(&mut v, &team.committee, "team.committee"),
                "members" => changes.members = parse_members(&mut v, &member_inputs(&team.members), "team.members"),
                "plan" => changes.plan = parse_plan(&mut v, &team.plan, "team.plan"),
                _ => {}
            }
        }
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("service_team.id", id.as_str());
        let updated = self.store.update_service_team(&id, &changes, etag_version(&team.etag)).await?;
        Ok(Response::new(pb::UpdateServiceTeamResponse { team: Some(team_to_proto(updated)) }))
    }

    #[tracing::instrument(skip_all, fields(service_menu_item.id))]
    pub(super) async fn create_service_menu_item_impl(
        &self,
        request: Request<pb::CreateServiceMenuItemRequest>,
    ) -> Result<Response<pb::CreateServiceMenuItemResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let item = body.item.ok_or_else(|| ServiceError::invalid("item", "is required"))?;
        let mut v = Violations::new();
        let fields = MenuItemFields::parse(&mut v, &item.title, &item.description, &item.categories, "item");
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let (fields, request_id) = (checked(fields)?, checked(request_id)?);
        let created = self.store.create_service_menu_item(&fields, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("service_menu_item.id", created.id.as_str());
        Ok(Response::new(pb::CreateServiceMenuItemResponse { item: Some(item_to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_service_menu_items_impl(
        &self,
        request: Request<pb::ListServiceMenuItemsRequest>,
    ) -> Result<Response<pb::ListServiceMenuItemsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let category = match body.category.trim() {
            "" => None,
            raw => Some(parse_category(raw, "category")?),
        };
        let filter = MenuFilter { include_inactive: body.include_inactive, category };
        let page = PageRequest::parse(body.page_size, &body.page_token, MENU_LIST, &filter.digest(), 2)?;
        let found = self.store.list_service_menu_items(&filter, &page).await?;
        let next_page_token = found.next_token(MENU_LIST, &filter.digest());
        Ok(Response::new(pb::ListServiceMenuItemsResponse {
            items: found.items.into_iter().map(item_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(service_menu_item.id))]
    pub(super) async fn update_service_menu_item_impl(
        &self,
        request: Request<pb::UpdateServiceMenuItemRequest>,
    ) -> Result<Response<pb::UpdateServiceMenuItemResponse>, Status> {
        Caller::of(&request)?.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let item = body.item.ok_or_else(|| ServiceError::invalid("item", "is required"))?;
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&item.id, "item.id"))?;
        let paths = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let paths = gather(&mut v, parse_update_mask(&paths, MenuItemChanges::PATHS))?.unwrap_or_default();
        let mut changes = MenuItemChanges::default();
        for path in paths {
            match path {
                "title" => changes.title = parse_item_title(&mut v, &item.title, "item.title"),
                "description" => {
                    changes.description = parse_item_description(&mut v, &item.description, "item.description")
                }
                "categories" => changes.categories = parse_categories(&mut v, &item.categories, "item.categories"),
                "active" => changes.active = Some(item.active),
                _ => {}
            }
        }
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("service_menu_item.id", id.as_str());
        let updated = self.store.update_service_menu_item(&id, &changes).await?;
        Ok(Response::new(pb::UpdateServiceMenuItemResponse { item: Some(item_to_proto(updated)) }))
    }

    /// Maps a demand to a menu item and a member. The checks, in order: the request's fields; a
    /// repeated request id or an already-mapped demand (answered without asking intake again, so a
    /// retry succeeds even after the demand moved on); the team (NOT_FOUND) and its member
    /// (INVALID_ARGUMENT on `entry.member_id`); the demand in intake — unknown or of another
    /// enterprise is INVALID_ARGUMENT on `entry.demand_id`, no longer open is FAILED_PRECONDITION
    /// naming its status; then the menu item (unknown: INVALID_ARGUMENT on `entry.menu_item_id`;
    /// inactive: FAILED_PRECONDITION) in the store's transaction.
    #[tracing::instrument(skip_all, fields(service_team.id))]
    pub(super) async fn map_demand_to_service_impl(
        &self,
        request: Request<pb::MapDemandToServiceRequest>,
    ) -> Result<Response<pb::MapDemandToServiceResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let mut v = Violations::new();
        let team_id = gather(&mut v, parse_id(&body.team_id, "team_id"))?;
        let entry = body.entry.unwrap_or_default();
        let demand_id = gather(&mut v, parse_id(&entry.demand_id, "entry.demand_id"))?;
        let menu_item_id = gather(&mut v, parse_id(&entry.menu_item_id, "entry.menu_item_id"))?;
        let member_id = parse_member_id(&mut v, &entry.member_id, "entry.member_id");
        let note = parse_note(&mut v, &entry.note, "entry.note");
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let team_id = checked(team_id)?;
        tracing::Span::current().record("service_team.id", team_id.as_str());
        let new = NewEntry {
            demand_id: checked(demand_id)?,
            menu_item_id: checked(menu_item_id)?,
            member_id: checked(member_id)?,
            note: checked(note)?,
        };
        let request_id = checked(request_id)?;
        if let Some(request_id) = request_id.as_deref()
            && let Some(existing) = self.store.service_entry_by_request(request_id, &new.fingerprint(&team_id)).await?
        {
            return Ok(Response::new(pb::MapDemandToServiceResponse { entry: Some(entry_to_proto(existing)) }));
        }
        if let Some(existing) = self.store.service_entry_of_demand(&new.demand_id).await? {
            let existing = existing.answer_repeat(&team_id, &new)?;
            return Ok(Response::new(pb::MapDemandToServiceResponse { entry: Some(entry_to_proto(existing)) }));
        }
        let team = self.store.get_service_team(&team_id).await?;
        if !team.fields.serves(&new.member_id) {
            return Err(ServiceError::InvalidArgument(vec![FieldViolation::new(
                "entry.member_id",
                format!("{} is neither a member nor the lead of service team {team_id}", new.member_id),
            )])
            .into());
        }
        let demand = self.intake.demand(&md, &new.demand_id).await?.ok_or_else(|| {
            ServiceError::invalid("entry.demand_id", format!("there is no demand {} in intake", new.demand_id))
        })?;
        let open = OPEN_DEMAND_STATUSES.iter().any(|s| *s as i32 == demand.status);
        let status = demand_status_name(demand.status);
        check_demand(
            &DemandView { id: &demand.id, enterprise_id: &demand.enterprise_id, open, status: &status },
            &team.enterprise_id,
        )?;
        let created = self.store.map_demand_to_service(&team_id, &new, request_id.as_deref(), &caller.subject).await?;
        Ok(Response::new(pb::MapDemandToServiceResponse { entry: Some(entry_to_proto(created)) }))
    }

    /// The service list of a team (by `team_id`) or of an enterprise's team (by `enterprise_id`); when
    /// both are given they must name the same team.
    #[tracing::instrument(skip_all)]
    pub(super) async fn get_service_list_impl(
        &self,
        request: Request<pb::GetServiceListRequest>,
    ) -> Result<Response<pb::GetServiceListResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let team = match (body.team_id.trim(), body.enterprise_id.trim()) {
            ("", "") => {
                return Err(ServiceError::invalid("team_id", "is required: give team_id or enterprise_id").into());
            }
            ("", enterprise_id) => {
                let enterprise_id = parse_id(enterprise_id, "enterprise_id")?;
                self.store.service_team_of_enterprise(&enterprise_id).await?.ok_or_else(|| ServiceError::NotFound {
                    resource: "service team of enterprise",
                    id: enterprise_id.clone(),
                })?
            }
            (team_id, enterprise_id) => {
                let team_id = parse_id(team_id, "team_id")?;
                let team = self.store.get_service_team(&team_id).await?;
                if !enterprise_id.is_empty() && parse_id(enterprise_id, "enterprise_id")? != team.enterprise_id {
                    return Err(ServiceError::invalid(
                        "enterprise_id",
                        format!("service team {team_id} serves enterprise {}, not {enterprise_id}", team.enterprise_id),
                    )
                    .into());
                }
                team
            }
        };
        let entries = self.store.service_entries_of_team(&team.id).await?;
        let open = self.intake.open_demands(&md, &team.enterprise_id).await?;
        let mapped: Vec<&str> = entries.iter().map(|e| e.fields.demand_id.as_str()).collect();
        let unmapped_demand_ids = unmapped(open.iter().map(|d| d.id.as_str()), &mapped);
        Ok(Response::new(pb::GetServiceListResponse {
            service_list: Some(pb::ServiceList {
                team_id: team.id,
                enterprise_id: team.enterprise_id,
                entries: entries.into_iter().map(entry_to_proto).collect(),
                unmapped_demand_ids,
            }),
        }))
    }

    #[tracing::instrument(skip_all, fields(service_entry.id))]
    pub(super) async fn deliver_service_impl(
        &self,
        request: Request<pb::DeliverServiceRequest>,
    ) -> Result<Response<pb::DeliverServiceResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&DELIVERERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let entry_id = gather(&mut v, parse_id(&body.entry_id, "entry_id"))?;
        let time = v.check(read_instant(body.deliver_time.as_ref(), "deliver_time"));
        let delivery = match time {
            Some(time) => gather(&mut v, Delivery::parse(&body.delivery_note, time, tingjian_runtime::clock::now()))?,
            None => None,
        };
        v.finish()?;
        let (entry_id, delivery) = (checked(entry_id)?, checked(delivery)?);
        tracing::Span::current().record("service_entry.id", entry_id.as_str());
        let by = Deliverer {
            subject: &caller.subject,
            is_staff: caller.has(Role::Staff),
            is_member: caller.has(Role::Member),
        };
        let entry = self.store.deliver_service(&entry_id, &delivery, by).await?;
        Ok(Response::new(pb::DeliverServiceResponse { entry: Some(entry_to_proto(entry)) }))
    }
}
