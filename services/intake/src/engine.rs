//! The live similar-demand engine: one in-memory [`Index`] of the open demands and active common
//! issues, rebuilt from the store when the service starts, brought up to date after each change this
//! replica makes, and every `similarity.refresh_interval` with the changes other replicas made.
//!
//! Until the first rebuild finishes, calls that need the index wait for it (up to [`READY_WAIT`], then
//! UNAVAILABLE); a submission made meanwhile is still stored, and indexed as soon as the rebuild
//! reaches it or its own refresh runs, whichever comes later (revisions decide which read wins).

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::settings::SimilaritySettings;
use tokio::sync::watch;

use crate::domain::similarity::index::{Needs, Prepared};
use crate::domain::similarity::{Index, Item, ItemKind};
use crate::store::{IndexedDemand, IndexedIssue, Store};

/// Longest a call waits for the index to be rebuilt before answering UNAVAILABLE.
pub const READY_WAIT: Duration = Duration::from_secs(30);
/// Longest a call that changed demands waits for the index to take the change (it may be busy with a
/// clustering proposal); the change completes in the background after that.
pub const REFRESH_WAIT: Duration = Duration::from_secs(2);
/// Rows read per page while rebuilding or catching up.
const PAGE: usize = 2_000;
/// How far before the last change seen the catch-up reads again: changes committed late (a long
/// transaction) or stamped by a replica whose clock runs behind are not missed.
const CATCH_UP_MARGIN: TimeDelta = TimeDelta::minutes(2);

/// The similar-demand engine of one intake replica.
#[derive(Debug)]
pub struct SimilarityEngine {
    store: Store,
    settings: SimilaritySettings,
    index: RwLock<Index>,
    ready: watch::Sender<bool>,
    /// Changes at or after this instant (less the margin) are read by the next catch-up.
    watermark: std::sync::Mutex<Option<DateTime<Utc>>>,
}

/// A change to bring into the index.
enum Change {
    /// Index this item with this text.
    Upsert(Item, String),
    /// Drop this item at this revision.
    Remove(ItemKind, String, i64),
}

fn demand_item(d: &IndexedDemand) -> Item {
    Item {
        kind: ItemKind::Demand,
        id: d.id.clone(),
        title: d.title.clone(),
        category: d.category.clone(),
        common_issue_id: d.common_issue_id.clone(),
        enterprise_id: d.enterprise_id.clone(),
        version: d.version,
    }
}

fn issue_item(i: &IndexedIssue) -> Item {
    Item {
        kind: ItemKind::CommonIssue,
        id: i.id.clone(),
        title: i.title.clone(),
        category: i.category.clone(),
        common_issue_id: None,
        enterprise_id: None,
        version: i.version,
    }
}

impl SimilarityEngine {
    /// An engine over `store`, not yet built (see [`SimilarityEngine::start`]).
    pub fn new(store: Store, settings: SimilaritySettings) -> Self {
        let (ready, _) = watch::channel(false);
        Self { store, settings, index: RwLock::new(Index::new()), ready, watermark: std::sync::Mutex::new(None) }
    }

    /// Creates the engine and starts, in the background, the rebuild from the store and then the
    /// periodic catch-up; both stop once the engine is dropped.
    pub fn start(store: Store, settings: SimilaritySettings) -> Arc<Self> {
        let engine = Arc::new(Self::new(store, settings));
        let weak = Arc::downgrade(&engine);
        tokio::spawn(async move { run(weak).await });
        engine
    }

    /// The engine's settings.
    pub fn settings(&self) -> &SimilaritySettings {
        &self.settings
    }

    /// Whether the first rebuild has finished.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits for the first rebuild, up to [`READY_WAIT`]; UNAVAILABLE after that.
    pub async fn wait_ready(&self) -> Result<(), ServiceError> {
        let mut rx = self.ready.subscribe();
        match tokio::time::timeout(READY_WAIT, rx.wait_for(|ready| *ready)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ServiceError::Unavailable(
                "the similar-demand index is still being built from the stored demands; retry shortly".into(),
            )),
        }
    }

    /// Runs `f` on the index (read-only).
    pub fn read<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        f(&index)
    }

    /// Runs `f` on the index on a blocking thread (long computations such as clustering).
    pub async fn read_blocking<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Index) -> R + Send + 'static,
    ) -> Result<R, ServiceError> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.read(f))
            .await
            .map_err(|e| ServiceError::internal(format!("the similarity computation failed: {e}")))
    }

    /// Brings the index up to date with `changes` (an item and its text when it should be indexed,
    /// its kind, id and revision when it should not): texts are analysed before the index is locked
    /// for writing, and only those it does not hold yet.
    fn apply(&self, changes: Vec<Change>) {
        let needs: Vec<Needs> = self.read(|index| {
            changes
                .iter()
                .map(|c| match c {
                    Change::Upsert(item, text) => index.needs(item, text),
                    Change::Remove(..) => Needs::Nothing,
                })
                .collect()
        });
        let prepared: Vec<Option<Prepared>> = changes
            .iter()
            .zip(&needs)
            .map(|(c, n)| match (c, n) {
                (Change::Upsert(_, text), Needs::Analysis) => Some(Prepared::new(text)),
                (Change::Upsert(_, text), Needs::Item) => Some(Prepared::unchanged(text)),
                _ => None,
            })
            .collect();
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        for (change, prepared) in changes.into_iter().zip(prepared) {
            match (change, prepared) {
                (Change::Upsert(item, text), None) => {
                    // Stale when read; checked again under the lock in case it changed meanwhile.
                    if index.needs(&item, &text) != Needs::Nothing {
                        index.upsert(item, &text);
                    }
                }
                (Change::Upsert(item, _), Some(prepared)) => {
                    index.upsert_prepared(item, prepared);
                }
                (Change::Remove(kind, id, version), _) => index.remove(kind, &id, version),
            }
        }
    }

    /// Applies `changes` on a blocking thread (the index's write lock may wait for a long read, such
    /// as a clustering proposal); waits at most `wait`, after which the change completes in the
    /// background.
    async fn apply_off_thread(self: &Arc<Self>, changes: Vec<Change>, wait: Option<Duration>) {
        let engine = self.clone();
        let task = tokio::task::spawn_blocking(move || engine.apply(changes));
        match wait {
            None => {
                let _ = task.await;
            }
            Some(wait) => {
                if tokio::time::timeout(wait, task).await.is_err() {
                    tracing::info!("similarity index busy; the change is applied in the background");
                }
            }
        }
    }

    fn demand_changes(rows: &[IndexedDemand]) -> Vec<Change> {
        rows.iter()
            .map(|row| {
                if row.is_open() {
                    Change::Upsert(demand_item(row), row.indexed_text())
                } else {
                    Change::Remove(ItemKind::Demand, row.id.clone(), row.version)
                }
            })
            .collect()
    }

    fn issue_changes(rows: &[IndexedIssue]) -> Vec<Change> {
        rows.iter()
            .map(|row| {
                if row.is_active() {
                    Change::Upsert(issue_item(row), row.indexed_text())
                } else {
                    Change::Remove(ItemKind::CommonIssue, row.id.clone(), row.version)
                }
            })
            .collect()
    }

    /// Reads the named demands and common issues again and brings the index up to date with them
    /// (after this replica changed them). A failure is logged: the next catch-up repairs it.
    /// A caller waits up to [`REFRESH_WAIT`] for the index to take the change.
    pub async fn refresh(self: &Arc<Self>, demand_ids: &[String], issue_ids: &[String]) {
        let mut changes = Vec::new();
        if !demand_ids.is_empty() {
            match self.store.demands_for_index(demand_ids).await {
                Ok(rows) => changes.extend(Self::demand_changes(&rows)),
                Err(e) => tracing::warn!(error = %e, "similarity index: reading changed demands failed"),
            }
        }
        if !issue_ids.is_empty() {
            match self.store.issues_for_index(issue_ids).await {
                Ok(rows) => changes.extend(Self::issue_changes(&rows)),
                Err(e) => tracing::warn!(error = %e, "similarity index: reading changed common issues failed"),
            }
        }
        if !changes.is_empty() {
            self.apply_off_thread(changes, Some(REFRESH_WAIT)).await;
        }
    }

    /// Builds the index from every open demand and active common issue in the store.
    pub async fn rebuild(self: &Arc<Self>) -> Result<(), ServiceError> {
        let started = Instant::now();
        let since = tingjian_runtime::clock::now();
        let mut after: Option<String> = None;
        let mut demands = 0usize;
        loop {
            let rows = self.store.open_demands_page(after.as_deref(), PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            demands += rows.len();
            self.apply_off_thread(Self::demand_changes(&rows), None).await;
        }
        let mut after: Option<String> = None;
        let mut issues = 0usize;
        loop {
            let rows = self.store.active_issues_page(after.as_deref(), PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            issues += rows.len();
            self.apply_off_thread(Self::issue_changes(&rows), None).await;
        }
        *self.watermark.lock().unwrap_or_else(|e| e.into_inner()) = Some(since);
        self.ready.send_replace(true);
        tracing::info!(demands, issues, elapsed_ms = started.elapsed().as_millis() as u64, "similarity index built");
        Ok(())
    }

    /// Reads what changed since the last catch-up (less the margin) into the index.
    pub async fn catch_up(self: &Arc<Self>) -> Result<(), ServiceError> {
        let Some(mark) = *self.watermark.lock().unwrap_or_else(|e| e.into_inner()) else { return Ok(()) };
        let since = mark - CATCH_UP_MARGIN;
        let mut latest = mark;
        let mut after: Option<(DateTime<Utc>, String)> = None;
        loop {
            let rows =
                self.store.demands_changed_since(since, after.as_ref().map(|(t, id)| (*t, id.as_str())), PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.update_time, last.id.clone()));
            latest = latest.max(last.update_time);
            self.apply_off_thread(Self::demand_changes(&rows), None).await;
        }
        let mut after: Option<(DateTime<Utc>, String)> = None;
        loop {
            let rows =
                self.store.issues_changed_since(since, after.as_ref().map(|(t, id)| (*t, id.as_str())), PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.update_time, last.id.clone()));
            latest = latest.max(last.update_time);
            self.apply_off_thread(Self::issue_changes(&rows), None).await;
        }
        *self.watermark.lock().unwrap_or_else(|e| e.into_inner()) = Some(latest);
        let engine = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            engine.index.write().unwrap_or_else(|e| e.into_inner()).advance_epoch()
        })
        .await;
        Ok(())
    }
}

/// The engine's background work: the rebuild (retried until it succeeds), then the catch-up on its
/// interval, until the engine is dropped.
async fn run(engine: Weak<SimilarityEngine>) {
    let mut delay = Duration::from_millis(200);
    loop {
        let Some(strong) = engine.upgrade() else { return };
        match strong.rebuild().await {
            Ok(()) => break,
            Err(e) => tracing::warn!(error = %e, "similarity index: rebuild failed; retrying"),
        }
        drop(strong);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
    loop {
        let interval = match engine.upgrade() {
            Some(strong) => strong.settings.refresh_interval,
            None => return,
        };
        if interval.is_zero() {
            return;
        }
        tokio::time::sleep(interval).await;
        let Some(strong) = engine.upgrade() else { return };
        if let Err(e) = strong.catch_up().await {
            tracing::warn!(error = %e, "similarity index: catching up with other replicas failed");
        }
    }
}
