//! Applying plans through the ports.

use futures_util::StreamExt;
use futures_util::stream;

use crate::Result;
use crate::filter::GroupFilter;
use crate::ports::{ListingNeeds, RequestPlan, StatusProvider};
use crate::sync::plan::{Failed, OneWaySpec, Plan, RunMode, SyncReport, plan_one_way};

/// How [`apply`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Writes in flight at once. The provider's client still paces requests under its
    /// rate limit; concurrency only hides latency.
    pub concurrency: usize,
}

/// Builder methods: start from [`ApplyOptions::default`] (or the constructor) and set what differs.
impl ApplyOptions {
    /// Set [`concurrency`](Self::concurrency).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { concurrency: 16 }
    }
}

/// Execute `plan` against `target`: every change is written once, concurrently; failures
/// are collected with their error, never aborting the others.
pub async fn apply(plan: Plan, target: &dyn StatusProvider, options: ApplyOptions) -> SyncReport {
    let Plan { source, target: target_name, changes, skipped, unmatched, in_sync, warnings } = plan;
    let results: Vec<_> = stream::iter(changes)
        .map(|change| async move {
            let result = target.set_status(&change.agent.target_id, change.channel, &change.to).await;
            (change, result)
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut report = SyncReport {
        source,
        target: target_name,
        mode: RunMode::Apply,
        written: Vec::new(),
        skipped,
        failed: Vec::new(),
        unmatched,
        in_sync,
        warnings,
    };
    for (change, result) in results {
        match result {
            Ok(()) => report.written.push(change),
            Err(e) => {
                report.failed.push(Failed { transient: e.is_transient(), error: e.to_string(), change })
            }
        }
    }
    // Deterministic order regardless of completion order.
    report.written.sort_by(|a, b| a.agent.target_id.cmp(&b.agent.target_id));
    report.failed.sort_by(|a, b| a.change.agent.target_id.cmp(&b.change.agent.target_id));
    report
}

/// What a listing needs for a link with `filter`: no groups without a filter; with one,
/// only the groups it names (its include lists and its *Do not change* list).
pub(crate) fn filter_needs(filter: &GroupFilter) -> ListingNeeds {
    if filter.is_empty() {
        return ListingNeeds::default().with_groups(false);
    }
    let names = filter.include.values().flatten().chain(&filter.exclude).cloned();
    ListingNeeds::default().with_only_groups(names)
}

/// What each side `(a, b)` of a bridge link's reconcile pass lists: its own channel's
/// statuses, and groups only for the link's filter (only the groups it names). The
/// bridge's passes call [`StatusProvider::list_agents_with`] with these; a caller can ask
/// [`StatusProvider::planned_reads`] what a pass will cost.
pub fn reconcile_needs(link: &crate::sync::StatusLink) -> (ListingNeeds, ListingNeeds) {
    let needs = filter_needs(&link.filter);
    (needs.clone().with_channels([link.a.1]), needs.with_channels([link.b.1]))
}

/// What each side `(a, b)` of a bridge link lists in a steady-state pass, between two full
/// passes ([`BridgeOptions::full_pass_every`](crate::sync::BridgeOptions::full_pass_every)):
/// [`reconcile_needs`], incremental where the provider has a change feed, and without the
/// statuses of a side whose statuses arrive as webhook events
/// ([`StatusLink::with_status_webhooks`](crate::sync::StatusLink::with_status_webhooks)).
pub fn steady_reconcile_needs(link: &crate::sync::StatusLink) -> (ListingNeeds, ListingNeeds) {
    let (a, b) = reconcile_needs(link);
    let steady = |needs: ListingNeeds, pushed: bool| {
        let needs = needs.with_incremental(true);
        if pushed { needs.with_channels(std::iter::empty()) } else { needs }
    };
    (steady(a, link.status_webhooks[0]), steady(b, link.status_webhooks[1]))
}

/// A one-shot, one-way sync between two providers: read both, plan, apply.
pub struct OneShot<'a> {
    source: &'a dyn StatusProvider,
    target: &'a dyn StatusProvider,
    spec: OneWaySpec,
    options: ApplyOptions,
    allow_unknown_groups: bool,
}

impl<'a> OneShot<'a> {
    /// Sync `source` → `target` per `spec`.
    pub fn new(source: &'a dyn StatusProvider, target: &'a dyn StatusProvider, spec: OneWaySpec) -> Self {
        Self { source, target, spec, options: ApplyOptions::default(), allow_unknown_groups: false }
    }

    /// Change how writes are applied.
    pub fn options(mut self, options: ApplyOptions) -> Self {
        self.options = options;
        self
    }

    /// Report configured group names the target does not have as warnings instead of
    /// failing before anything is written.
    pub fn allow_unknown_groups(mut self, allow: bool) -> Self {
        self.allow_unknown_groups = allow;
        self
    }

    /// What each side's listing needs: `(source, target)`. Groups are read only on the
    /// target (the filter applies to the target's groups) and only when the spec has a
    /// group filter.
    pub fn listing_needs(&self) -> (ListingNeeds, ListingNeeds) {
        let source = ListingNeeds::default().with_groups(false).with_channels([self.spec.source_channel]);
        let target = filter_needs(&self.spec.filter).with_channels([self.spec.target_channel]);
        (source, target)
    }

    /// The requests a [`plan`](Self::plan) will make on each side: `(source, target)`
    /// (the target's group listing for the filter's validation is part of its plan).
    pub fn planned_reads(&self) -> (RequestPlan, RequestPlan) {
        let (source, target) = self.listing_needs();
        (self.source.planned_reads(&source), self.target.planned_reads(&target))
    }

    /// Read both sides (concurrently), validate the group filter against the target's
    /// groups, and plan. Nothing is written: the plan is the preview (see
    /// [`SyncReport::preview`]); [`apply`](Self::apply) carries it out. Unknown group
    /// names, when allowed, are in [`Plan::warnings`].
    pub async fn plan(&self) -> Result<Plan> {
        // Read only what the plan uses: the source's statuses on the link's channels, the
        // target's on the channels it writes, and the target's groups only for a filter
        // (and then only the groups the filter names).
        let (source_needs, target_needs) = self.listing_needs();
        let (source_agents, target_agents) = futures_util::future::try_join(
            self.source.list_agents_with(&source_needs),
            self.target.list_agents_with(&target_needs),
        )
        .await?;
        let mut warnings = Vec::new();
        if !self.spec.filter.is_empty() {
            let groups = self.target.list_groups().await?;
            if let Err(e) = self.spec.filter.validate(self.target.name(), &groups) {
                if self.allow_unknown_groups {
                    warnings.push(e.to_string());
                } else {
                    return Err(e);
                }
            }
        }
        let plan =
            plan_one_way(self.source.name(), &source_agents, self.target.name(), &target_agents, &self.spec);
        Ok(Plan { warnings, ..plan })
    }

    /// Write `plan` (from [`plan`](Self::plan)) to the target with this sync's
    /// [`ApplyOptions`].
    pub async fn apply(&self, plan: Plan) -> SyncReport {
        apply(plan, self.target, self.options).await
    }

    /// [`plan`](Self::plan), then [`apply`](Self::apply).
    pub async fn run(&self) -> Result<SyncReport> {
        let plan = self.plan().await?;
        Ok(self.apply(plan).await)
    }
}
