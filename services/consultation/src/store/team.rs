//! Stored service teams (一企一团队) and their members, the service menu (菜单式服务) and service-list
//! entries (服务清单). Every change runs in one transaction; a delivery records its event in it.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::{ServiceError, on_tx};

use super::Store;
use crate::domain::team::{
    Deliverer, Delivery, EntryStatus, MenuFilter, MenuItem, MenuItemChanges, MenuItemFields, NewEntry, NewServiceTeam,
    Person, ServiceEntry, ServiceTeam, TeamChanges, TeamFields, TeamFilter, TeamMember, may_deliver,
};

/// The service name events are recorded under.
const SERVICE: &str = "consultation";

/// The current instant, at the precision both backends store.
fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

fn team_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "service team", id: id.to_owned() }
}

fn item_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "service menu item", id: id.to_owned() }
}

fn entry_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "service-list entry", id: id.to_owned() }
}

/// A value bound to a query assembled at run time.
enum Arg {
    Text(String),
    Time(DateTime<Utc>),
}

/// `$from, $from+1, …` for `n` values bound from position `from`.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Bumps the revision of row `id` of `table` (locking it) at `now`; whether the row exists.
async fn bump_version(tx: &mut Tx, table: &str, id: &str, now: DateTime<Utc>) -> Result<bool, ServiceError> {
    let sql = format!("UPDATE {table} SET version = version + 1, update_time = $2 WHERE id = $1");
    let changed = on_tx!(tx, conn => {
        sqlx::query(&sql).bind(id).bind(now).execute(&mut **conn).await.map(|done| done.rows_affected())
    })?;
    Ok(changed > 0)
}

/// Locks row `id` of `table` for the rest of the transaction without changing it; whether it exists.
async fn lock_row(tx: &mut Tx, table: &str, id: &str) -> Result<bool, ServiceError> {
    let sql = format!("UPDATE {table} SET version = version WHERE id = $1");
    let changed = on_tx!(tx, conn => {
        sqlx::query(&sql).bind(id).execute(&mut **conn).await.map(|done| done.rows_affected())
    })?;
    Ok(changed > 0)
}

/// ABORTED unless the caller's expected revision is the one before this transaction's bump.
fn check_etag(kind: &str, id: &str, version: i64, expected: Option<i64>) -> Result<(), ServiceError> {
    match expected {
        Some(expected) if expected != version - 1 => Err(ServiceError::Aborted(format!(
            "{kind} {id} has changed since it was read (its etag is now v{}); re-read it and retry",
            version - 1
        ))),
        _ => Ok(()),
    }
}

/// Replaces a unique-violation's generic message with `message`.
fn conflict_as(error: ServiceError, message: impl FnOnce() -> String) -> ServiceError {
    match error {
        ServiceError::AlreadyExists(_) => ServiceError::AlreadyExists(message()),
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------------
// Teams

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: String,
    enterprise_id: String,
    lead_id: String,
    lead_name: String,
    lead_title: String,
    lead_organisation_id: String,
    committee: String,
    plan: String,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_TEAM: &str = "SELECT t.id, t.enterprise_id, t.lead_id, t.lead_name, t.lead_title, \
     t.lead_organisation_id, t.committee, t.plan, t.version, t.created_by, t.create_time, t.update_time \
     FROM service_team t";

#[derive(sqlx::FromRow)]
struct MemberRow {
    team_id: String,
    member_id: String,
    display_name: String,
    title: String,
    organisation_id: String,
    sector: String,
    expertise: String,
}

impl TeamRow {
    fn assemble(self, members: Vec<TeamMember>) -> ServiceTeam {
        ServiceTeam {
            id: self.id,
            enterprise_id: self.enterprise_id,
            fields: TeamFields {
                lead: Person {
                    id: self.lead_id,
                    display_name: self.lead_name,
                    title: self.lead_title,
                    organisation_id: self.lead_organisation_id,
                },
                committee: self.committee,
                members,
                plan: self.plan,
            },
            version: self.version,
            created_by: self.created_by,
            create_time: self.create_time,
            update_time: self.update_time,
        }
    }
}

/// The members of each of `ids`, in the order given.
async fn members_of(tx: &mut Tx, ids: &[&str]) -> Result<HashMap<String, Vec<TeamMember>>, ServiceError> {
    let mut out: HashMap<String, Vec<TeamMember>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT team_id, member_id, display_name, title, organisation_id, sector, expertise \
         FROM service_team_member WHERE team_id IN ({}) ORDER BY team_id, position",
        placeholders(1, ids.len())
    );
    let rows: Vec<MemberRow> = on_tx!(tx, conn => {
        let mut query = sqlx::query_as::<_, MemberRow>(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&mut **conn).await
    })?;
    for row in rows {
        out.entry(row.team_id).or_default().push(TeamMember {
            person: Person {
                id: row.member_id,
                display_name: row.display_name,
                title: row.title,
                organisation_id: row.organisation_id,
            },
            sector: row.sector,
            expertise: row.expertise,
        });
    }
    Ok(out)
}

async fn team_where(tx: &mut Tx, column: &'static str, value: &str) -> Result<Option<ServiceTeam>, ServiceError> {
    let sql = format!("{SELECT_TEAM} WHERE t.{column} = $1");
    let row: Option<TeamRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, TeamRow>(&sql).bind(value).fetch_optional(&mut **conn).await)?;
    let Some(row) = row else { return Ok(None) };
    let mut members = members_of(tx, &[row.id.as_str()]).await?;
    let own = members.remove(&row.id).unwrap_or_default();
    Ok(Some(row.assemble(own)))
}

async fn team_in(tx: &mut Tx, id: &str) -> Result<ServiceTeam, ServiceError> {
    team_where(tx, "id", id).await?.ok_or_else(|| team_not_found(id))
}

/// Writes a team's members in order, replacing any it had.
async fn put_members(tx: &mut Tx, team_id: &str, members: &[TeamMember]) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM service_team_member WHERE team_id = $1")
            .bind(team_id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    for (position, m) in members.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO service_team_member (team_id, member_id, display_name, title, organisation_id, sector, \
                 expertise, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(team_id)
            .bind(&m.person.id)
            .bind(&m.person.display_name)
            .bind(&m.person.title)
            .bind(&m.person.organisation_id)
            .bind(&m.sector)
            .bind(&m.expertise)
            .bind(position)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Menu items

#[derive(sqlx::FromRow)]
struct MenuRow {
    id: String,
    title: String,
    description: String,
    active: bool,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_ITEM: &str =
    "SELECT i.id, i.title, i.description, i.active, i.version, i.create_time, i.update_time FROM service_menu_item i";

impl MenuRow {
    fn assemble(self, categories: Vec<String>) -> MenuItem {
        MenuItem {
            id: self.id,
            fields: MenuItemFields { title: self.title, description: self.description, categories },
            active: self.active,
            version: self.version,
            create_time: self.create_time,
            update_time: self.update_time,
        }
    }
}

/// The categories of each of `ids`, in the order given.
async fn categories_of(tx: &mut Tx, ids: &[&str]) -> Result<HashMap<String, Vec<String>>, ServiceError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT item_id, category FROM service_menu_item_category WHERE item_id IN ({}) ORDER BY item_id, position",
        placeholders(1, ids.len())
    );
    let rows: Vec<(String, String)> = on_tx!(tx, conn => {
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&mut **conn).await
    })?;
    for (item, category) in rows {
        out.entry(item).or_default().push(category);
    }
    Ok(out)
}

async fn item_in(tx: &mut Tx, id: &str) -> Result<Option<MenuItem>, ServiceError> {
    let sql = format!("{SELECT_ITEM} WHERE i.id = $1");
    let row: Option<MenuRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, MenuRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    let Some(row) = row else { return Ok(None) };
    let mut categories = categories_of(tx, &[row.id.as_str()]).await?;
    let own = categories.remove(&row.id).unwrap_or_default();
    Ok(Some(row.assemble(own)))
}

async fn put_categories(tx: &mut Tx, item_id: &str, categories: &[String]) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM service_menu_item_category WHERE item_id = $1")
            .bind(item_id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    for (position, category) in categories.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO service_menu_item_category (item_id, category, position) VALUES ($1, $2, $3)")
                .bind(item_id)
                .bind(category)
                .bind(position)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

fn title_taken(title: &str) -> String {
    format!("an active service menu item titled {title} already exists; titles are unique among active items")
}

// ---------------------------------------------------------------------------------------------------
// Service-list entries

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: String,
    team_id: String,
    enterprise_id: String,
    demand_id: String,
    menu_item_id: String,
    member_id: String,
    status: i32,
    note: String,
    delivery_note: String,
    deliver_time: Option<DateTime<Utc>>,
    delivered_by: String,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_ENTRY: &str = "SELECT e.id, e.team_id, e.enterprise_id, e.demand_id, e.menu_item_id, e.member_id, \
     e.status, e.note, e.delivery_note, e.deliver_time, e.delivered_by, e.version, e.create_time, e.update_time \
     FROM service_list_entry e";

impl TryFrom<EntryRow> for ServiceEntry {
    type Error = ServiceError;

    fn try_from(row: EntryRow) -> Result<Self, Self::Error> {
        let status = EntryStatus::from_i32(row.status)
            .ok_or_else(|| ServiceError::internal(format!("stored service-list entry {} has a bad status", row.id)))?;
        Ok(Self {
            id: row.id,
            team_id: row.team_id,
            enterprise_id: row.enterprise_id,
            fields: NewEntry {
                demand_id: row.demand_id,
                menu_item_id: row.menu_item_id,
                member_id: row.member_id,
                note: row.note,
            },
            status,
            delivery_note: row.delivery_note,
            deliver_time: row.deliver_time,
            delivered_by: row.delivered_by,
            version: row.version,
            create_time: row.create_time,
            update_time: row.update_time,
        })
    }
}

async fn entry_where(tx: &mut Tx, column: &'static str, value: &str) -> Result<Option<ServiceEntry>, ServiceError> {
    let sql = format!("{SELECT_ENTRY} WHERE e.{column} = $1");
    let row: Option<EntryRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, EntryRow>(&sql).bind(value).fetch_optional(&mut **conn).await)?;
    row.map(ServiceEntry::try_from).transpose()
}

impl Store {
    /// Runs `read` in a transaction that is rolled back: one consistent snapshot for a read.
    async fn read<T>(&self, read: impl AsyncFnOnce(&mut Tx) -> Result<T, ServiceError>) -> Result<T, ServiceError> {
        let mut tx = self.db.begin().await?;
        let out = read(&mut tx).await;
        tx.rollback().await?;
        out
    }

    /// Forms a service team. A repeated `request_id` with the same request returns the first team;
    /// with a different request, or for an enterprise that already has a team, it is ALREADY_EXISTS.
    pub async fn create_service_team(
        &self,
        new: &NewServiceTeam,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<ServiceTeam, ServiceError> {
        let fingerprint = new.fields.fingerprint(&new.enterprise_id);
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let f = &new.fields;
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO service_team (id, enterprise_id, lead_id, lead_name, lead_title, lead_organisation_id, \
                     committee, plan, version, request_id, request_payload, created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12, $12)",
                )
                .bind(&id)
                .bind(&new.enterprise_id)
                .bind(&f.lead.id)
                .bind(&f.lead.display_name)
                .bind(&f.lead.title)
                .bind(&f.lead.organisation_id)
                .bind(&f.committee)
                .bind(&f.plan)
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            put_members(&mut tx, &id, &f.members).await?;
            let team = team_in(&mut tx, &id).await?;
            tx.commit().await?;
            Ok(team)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move { self.team_by_request(&request_id, &fingerprint).await }
            },
            insert,
            || {
                ServiceError::AlreadyExists(format!(
                    "enterprise {} already has a service team; one team per enterprise",
                    new.enterprise_id
                ))
            },
        )
        .await
    }

    async fn team_by_request(&self, request_id: &str, fingerprint: &str) -> Result<Option<ServiceTeam>, ServiceError> {
        match self.created_for_request("service_team", "form service team", request_id, fingerprint).await? {
            Some(id) => self.get_service_team(&id).await.map(Some),
            None => Ok(None),
        }
    }

    /// A service team by id.
    pub async fn get_service_team(&self, id: &str) -> Result<ServiceTeam, ServiceError> {
        self.read(async |tx| team_in(tx, id).await).await
    }

    /// The team of an enterprise, if it has one.
    pub async fn service_team_of_enterprise(&self, enterprise_id: &str) -> Result<Option<ServiceTeam>, ServiceError> {
        self.read(async |tx| team_where(tx, "enterprise_id", enterprise_id).await).await
    }

    /// Teams matching `filter`, newest first, one page.
    pub async fn list_service_teams(
        &self,
        filter: &TeamFilter,
        page: &PageRequest,
    ) -> Result<Page<ServiceTeam>, ServiceError> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let arg = |args: &mut Vec<Arg>, a: Arg| {
            args.push(a);
            format!("${}", args.len())
        };
        if let Some(enterprise_id) = &filter.enterprise_id {
            let p = arg(&mut args, Arg::Text(enterprise_id.clone()));
            clauses.push(format!("t.enterprise_id = {p}"));
        }
        if let Some(member_id) = &filter.member_id {
            let p = arg(&mut args, Arg::Text(member_id.clone()));
            clauses.push(format!(
                "(t.lead_id = {p} OR EXISTS (SELECT 1 FROM service_team_member m WHERE m.team_id = t.id AND m.member_id = {p}))"
            ));
        }
        if let Some(committee) = &filter.committee {
            let p = arg(&mut args, Arg::Text(committee.clone()));
            clauses.push(format!("t.committee = {p}"));
        }
        if let Some(after) = &page.after {
            let time = PageRequest::time_key(after, 0)?;
            let id = PageRequest::text_key(after, 1)?;
            let k = arg(&mut args, Arg::Time(time));
            let i = arg(&mut args, Arg::Text(id));
            clauses.push(format!("(t.create_time < {k} OR (t.create_time = {k} AND t.id < {i}))"));
        }
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let limit = page.size + 1;
        let sql = format!("{SELECT_TEAM}{where_sql} ORDER BY t.create_time DESC, t.id DESC LIMIT {limit}");
        let size = page.size;
        self.read(async |tx| {
            let rows: Vec<TeamRow> = on_tx!(tx, conn => {
                let mut query = sqlx::query_as::<_, TeamRow>(&sql);
                for a in &args {
                    query = match a {
                        Arg::Text(v) => query.bind(v.as_str()),
                        Arg::Time(v) => query.bind(*v),
                    };
                }
                query.fetch_all(&mut **conn).await
            })?;
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let mut members = members_of(tx, &ids).await?;
            let teams: Vec<ServiceTeam> = rows
                .into_iter()
                .map(|row| {
                    let own = members.remove(&row.id).unwrap_or_default();
                    row.assemble(own)
                })
                .collect();
            Ok(Page::from_rows(teams, size, |t| vec![time_key(t.create_time), t.id.clone()]))
        })
        .await
    }

    /// Changes a team's fields; the etag is checked when given.
    pub async fn update_service_team(
        &self,
        id: &str,
        changes: &TeamChanges,
        expected_version: Option<i64>,
    ) -> Result<ServiceTeam, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        if !bump_version(&mut tx, "service_team", id, now).await? {
            return Err(team_not_found(id));
        }
        let current = team_in(&mut tx, id).await?;
        check_etag("service team", id, current.version, expected_version)?;
        let next = changes.apply(&current.fields);
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE service_team SET lead_id = $2, lead_name = $3, lead_title = $4, lead_organisation_id = $5, \
                 committee = $6, plan = $7 WHERE id = $1",
            )
            .bind(id)
            .bind(&next.lead.id)
            .bind(&next.lead.display_name)
            .bind(&next.lead.title)
            .bind(&next.lead.organisation_id)
            .bind(&next.committee)
            .bind(&next.plan)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        if changes.members.is_some() {
            put_members(&mut tx, id, &next.members).await?;
        }
        let team = team_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(team)
    }

    /// Adds an active item to the service menu. A repeated `request_id` with the same request returns
    /// the first item; a title already used by an active item is ALREADY_EXISTS.
    pub async fn create_service_menu_item(
        &self,
        fields: &MenuItemFields,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<MenuItem, ServiceError> {
        let fingerprint = fields.fingerprint();
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO service_menu_item (id, title, description, active, version, request_id, request_payload, \
                     created_by, create_time, update_time) VALUES ($1, $2, $3, TRUE, 1, $4, $5, $6, $7, $7)",
                )
                .bind(&id)
                .bind(&fields.title)
                .bind(&fields.description)
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            put_categories(&mut tx, &id, &fields.categories).await?;
            let item = item_in(&mut tx, &id).await?.ok_or_else(|| item_not_found(&id))?;
            tx.commit().await?;
            Ok(item)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move { self.item_by_request(&request_id, &fingerprint).await }
            },
            insert,
            || ServiceError::AlreadyExists(title_taken(&fields.title)),
        )
        .await
    }

    async fn item_by_request(&self, request_id: &str, fingerprint: &str) -> Result<Option<MenuItem>, ServiceError> {
        self.read(async |tx| {
            let found: Option<(String, Option<String>)> = on_tx!(tx, conn => {
                sqlx::query_as("SELECT id, request_payload FROM service_menu_item WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_optional(&mut **conn)
                    .await
            })?;
            match found {
                None => Ok(None),
                Some((id, payload)) if payload.as_deref() == Some(fingerprint) => item_in(tx, &id).await,
                Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                    "request_id {request_id} was already used to create service menu item {id} from a different request"
                ))),
            }
        })
        .await
    }

    /// A menu item by id, if it exists.
    pub async fn find_service_menu_item(&self, id: &str) -> Result<Option<MenuItem>, ServiceError> {
        self.read(async |tx| item_in(tx, id).await).await
    }

    /// Menu items matching `filter`, by title, one page.
    pub async fn list_service_menu_items(
        &self,
        filter: &MenuFilter,
        page: &PageRequest,
    ) -> Result<Page<MenuItem>, ServiceError> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if !filter.include_inactive {
            clauses.push("i.active = TRUE".to_owned());
        }
        if let Some(category) = &filter.category {
            args.push(category.clone());
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM service_menu_item_category c WHERE c.item_id = i.id AND c.category = ${})",
                args.len()
            ));
        }
        if let Some(after) = &page.after {
            args.push(PageRequest::text_key(after, 0)?);
            let k = args.len();
            args.push(PageRequest::text_key(after, 1)?);
            let i = args.len();
            clauses.push(format!("(i.title > ${k} OR (i.title = ${k} AND i.id > ${i}))"));
        }
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let limit = page.size + 1;
        let sql = format!("{SELECT_ITEM}{where_sql} ORDER BY i.title, i.id LIMIT {limit}");
        let size = page.size;
        self.read(async |tx| {
            let rows: Vec<MenuRow> = on_tx!(tx, conn => {
                let mut query = sqlx::query_as::<_, MenuRow>(&sql);
                for a in &args {
                    query = query.bind(a.as_str());
                }
                query.fetch_all(&mut **conn).await
            })?;
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let mut categories = categories_of(tx, &ids).await?;
            let items: Vec<MenuItem> = rows
                .into_iter()
                .map(|row| {
                    let own = categories.remove(&row.id).unwrap_or_default();
                    row.assemble(own)
                })
                .collect();
            Ok(Page::from_rows(items, size, |i| vec![i.fields.title.clone(), i.id.clone()]))
        })
        .await
    }

    /// Changes a menu item's fields; a title already used by another active item is ALREADY_EXISTS.
    pub async fn update_service_menu_item(
        &self,
        id: &str,
        changes: &MenuItemChanges,
    ) -> Result<MenuItem, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        if !bump_version(&mut tx, "service_menu_item", id, now).await? {
            return Err(item_not_found(id));
        }
        let current = item_in(&mut tx, id).await?.ok_or_else(|| item_not_found(id))?;
        let (next, active) = changes.apply(&current);
        let updated = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE service_menu_item SET title = $2, description = $3, active = $4 WHERE id = $1")
                .bind(id)
                .bind(&next.title)
                .bind(&next.description)
                .bind(active)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        });
        updated.map_err(|e| conflict_as(e.into(), || title_taken(&next.title)))?;
        if changes.categories.is_some() {
            put_categories(&mut tx, id, &next.categories).await?;
        }
        let item = item_in(&mut tx, id).await?.ok_or_else(|| item_not_found(id))?;
        tx.commit().await?;
        Ok(item)
    }

    /// The entry of a demand, if it is on a service list.
    pub async fn service_entry_of_demand(&self, demand_id: &str) -> Result<Option<ServiceEntry>, ServiceError> {
        self.read(async |tx| entry_where(tx, "demand_id", demand_id).await).await
    }

    /// The entry a request id created with the same request (`None` when the request id is new);
    /// ALREADY_EXISTS when it created one from a different request.
    pub async fn service_entry_by_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<ServiceEntry>, ServiceError> {
        self.read(async |tx| {
            let found: Option<(String, Option<String>)> = on_tx!(tx, conn => {
                sqlx::query_as("SELECT id, request_payload FROM service_list_entry WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_optional(&mut **conn)
                    .await
            })?;
            match found {
                None => Ok(None),
                Some((id, payload)) if payload.as_deref() == Some(fingerprint) => entry_where(tx, "id", &id).await,
                Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                    "request_id {request_id} was already used to create service-list entry {id} from a different request"
                ))),
            }
        })
        .await
    }

    /// Puts a demand on a team's service list, PLANNED. Checks again, in the transaction, that the
    /// member serves on the team and the menu item is active. A repeated `request_id` with the same
    /// request returns the first entry; a demand already mapped returns its entry for the same
    /// mapping and is ALREADY_EXISTS for a different one.
    pub async fn map_demand_to_service(
        &self,
        team_id: &str,
        new: &NewEntry,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<ServiceEntry, ServiceError> {
        let fingerprint = new.fingerprint(team_id);
        if let Some(request_id) = request_id
            && let Some(existing) = self.service_entry_by_request(request_id, &fingerprint).await?
        {
            return Ok(existing);
        }
        let inserted = self.insert_entry(team_id, new, request_id.map(|r| (r, fingerprint.as_str())), actor).await;
        match inserted {
            Err(ServiceError::AlreadyExists(message)) => {
                if let Some(request_id) = request_id
                    && let Some(existing) = self.service_entry_by_request(request_id, &fingerprint).await?
                {
                    return Ok(existing);
                }
                match self.service_entry_of_demand(&new.demand_id).await? {
                    Some(existing) => existing.answer_repeat(team_id, new),
                    None => Err(ServiceError::AlreadyExists(message)),
                }
            }
            other => other,
        }
    }

    async fn insert_entry(
        &self,
        team_id: &str,
        new: &NewEntry,
        request: Option<(&str, &str)>,
        actor: &str,
    ) -> Result<ServiceEntry, ServiceError> {
        let id = tingjian_runtime::wire::new_id();
        let now = now();
        let mut tx = self.db.begin().await?;
        // The team row is locked first (its etag unchanged), so a concurrent change of its members
        // waits for this mapping.
        if !lock_row(&mut tx, "service_team", team_id).await? {
            return Err(team_not_found(team_id));
        }
        let team = team_in(&mut tx, team_id).await?;
        if !team.fields.serves(&new.member_id) {
            return Err(ServiceError::invalid(
                "entry.member_id",
                format!("{} is neither a member nor the lead of service team {team_id}", new.member_id),
            ));
        }
        let item = item_in(&mut tx, &new.menu_item_id).await?.ok_or_else(|| {
            ServiceError::invalid("entry.menu_item_id", format!("there is no service menu item {}", new.menu_item_id))
        })?;
        if !item.active {
            return Err(ServiceError::FailedPrecondition(format!(
                "service menu item {} ({}) is inactive: only an active item can be chosen for a new entry",
                item.id, item.fields.title
            )));
        }
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO service_list_entry (id, team_id, enterprise_id, demand_id, menu_item_id, member_id, status, \
                 note, version, request_id, request_payload, created_by, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12, $12)",
            )
            .bind(&id)
            .bind(team_id)
            .bind(&team.enterprise_id)
            .bind(&new.demand_id)
            .bind(&new.menu_item_id)
            .bind(&new.member_id)
            .bind(EntryStatus::Planned.as_i32())
            .bind(&new.note)
            .bind(request.map(|(r, _)| r))
            .bind(request.map(|(_, p)| p))
            .bind(actor)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        let entry = entry_where(&mut tx, "id", &id).await?.ok_or_else(|| entry_not_found(&id))?;
        tx.commit().await?;
        Ok(entry)
    }

    /// A team's service-list entries, oldest first.
    pub async fn service_entries_of_team(&self, team_id: &str) -> Result<Vec<ServiceEntry>, ServiceError> {
        let sql = format!("{SELECT_ENTRY} WHERE e.team_id = $1 ORDER BY e.create_time, e.id");
        self.read(async |tx| {
            let rows: Vec<EntryRow> = on_tx!(tx, conn => {
                sqlx::query_as::<_, EntryRow>(&sql).bind(team_id).fetch_all(&mut **conn).await
            })?;
            rows.into_iter().map(ServiceEntry::try_from).collect()
        })
        .await
    }

    /// Records that a PLANNED entry was delivered and reports ServiceItemDelivered in the same
    /// transaction. Staff may deliver any entry, a member only their own (PERMISSION_DENIED
    /// otherwise); an entry already DELIVERED is FAILED_PRECONDITION.
    pub async fn deliver_service(
        &self,
        entry_id: &str,
        delivery: &Delivery,
        by: Deliverer<'_>,
    ) -> Result<ServiceEntry, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        if !bump_version(&mut tx, "service_list_entry", entry_id, now).await? {
            return Err(entry_not_found(entry_id));
        }
        let current = entry_where(&mut tx, "id", entry_id).await?.ok_or_else(|| entry_not_found(entry_id))?;
        if !may_deliver(&by, &current) {
            return Err(ServiceError::PermissionDenied(format!(
                "service-list entry {entry_id} is delivered by {}: only they or staff may record its delivery",
                current.fields.member_id
            )));
        }
        if current.status != EntryStatus::Planned {
            return Err(ServiceError::FailedPrecondition(format!(
                "service-list entry {entry_id} is {}: only a PLANNED entry can be delivered",
                current.status
            )));
        }
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE service_list_entry SET status = $2, delivery_note = $3, deliver_time = $4, delivered_by = $5 \
                 WHERE id = $1",
            )
            .bind(entry_id)
            .bind(EntryStatus::Delivered.as_i32())
            .bind(&delivery.note)
            .bind(delivery.time)
            .bind(by.subject)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        let payload = pb::ServiceItemDelivered {
            entry_id: current.id.clone(),
            team_id: current.team_id.clone(),
            enterprise_id: current.enterprise_id.clone(),
            demand_id: current.fields.demand_id.clone(),
            menu_item_id: current.fields.menu_item_id.clone(),
            member_id: current.fields.member_id.clone(),
            actor: by.subject.to_owned(),
        };
        let event = NewEvent::new(
            "service_item_delivered",
            format!("service_teams/{}", current.team_id),
            "tingjian.consultation.v1.ServiceItemDelivered",
            &payload,
        );
        events::record(&mut tx, SERVICE, event).await?;
        let entry = entry_where(&mut tx, "id", entry_id).await?.ok_or_else(|| entry_not_found(entry_id))?;
        tx.commit().await?;
        Ok(entry)
    }
}
