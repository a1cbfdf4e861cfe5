use super::*;
use crate::mapping::StatusMap;
use chrono::TimeZone;
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().unwrap_or_default()
}

fn ns(v: &str) -> NativeStatus {
    NativeStatus::from(v)
}

fn observed(side: Side, v: &str, origin: Origin, at: DateTime<Utc>) -> LinkEvent {
    LinkEvent::Observed { side, value: ns(v), origin, at }
}

fn writes(actions: &[LinkAction]) -> Vec<(Side, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            LinkAction::Write { side, value, .. } => Some((*side, value.as_str().to_owned())),
            LinkAction::Skip(_) | LinkAction::Read { .. } => None,
        })
        .collect()
}

#[test]
fn one_way_follows_the_seed_mapping_and_never_writes_the_source() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let mut st = LinkState::default();
    let now = t0();
    assert!(step(&cfg, &mut st, observed(Side::B, "online", Origin::Others, now), now).is_empty());
    let a = step(&cfg, &mut st, observed(Side::A, "unavailable", Origin::Unknown, now), now);
    assert_eq!(writes(&a), vec![(Side::B, "offline".into())]);
    step(&cfg, &mut st, LinkEvent::WriteSucceeded { side: Side::B, value: ns("offline") }, now);
    // The target changes by itself: the source is re-applied (one write per real change).
    let later = now + Duration::seconds(30);
    let a = step(&cfg, &mut st, observed(Side::B, "online", Origin::Others, later), later);
    assert_eq!(writes(&a), vec![(Side::B, "offline".into())]);
}

#[test]
fn custom_target_is_left_alone_unless_source_wins() {
    let mut cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let now = t0();
    let mut st = LinkState::default();
    step(&cfg, &mut st, observed(Side::B, "In a meeting", Origin::Others, now), now);
    let a = step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, now), now);
    assert!(matches!(a.as_slice(), [LinkAction::Skip(SkipReason::TargetProtected { .. })]), "{a:?}");
    // Reported once, not on every tick.
    assert!(step(&cfg, &mut st, LinkEvent::Tick, now + Duration::seconds(5)).is_empty());
    cfg.target_policy = TargetPolicy::SourceWins;
    let mut st = LinkState::default();
    step(&cfg, &mut st, observed(Side::B, "In a meeting", Origin::Others, now), now);
    let a = step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, now), now);
    assert_eq!(writes(&a), vec![(Side::B, "online".into())]);
}

#[test]
fn source_unmapped_is_skipped_with_reason() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let mut st = LinkState::default();
    let a = step(&cfg, &mut st, observed(Side::A, "custom", Origin::Unknown, t0()), t0());
    match a.as_slice() {
        [LinkAction::Skip(SkipReason::SourceUnmapped { reason, .. })] => {
            assert!(reason.contains("Automatic Schedule"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn two_way_away_does_not_drift_to_offline() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::TwoWay);
    let mut st = LinkState::default();
    let now = t0();
    step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, now - Duration::hours(1)), now);
    step(&cfg, &mut st, LinkEvent::WriteSucceeded { side: Side::B, value: ns("online") }, now);
    let now = now + Duration::seconds(1);
    let a = step(&cfg, &mut st, observed(Side::B, "away", Origin::Others, now), now);
    assert_eq!(writes(&a), vec![(Side::A, "unavailable".into())]);
    let now = now + Duration::seconds(1);
    assert!(
        step(&cfg, &mut st, LinkEvent::WriteSucceeded { side: Side::A, value: ns("unavailable") }, now)
            .is_empty()
    );
    // The Aircall echo carries no actor: recognised by the remembered write.
    assert!(step(&cfg, &mut st, observed(Side::A, "unavailable", Origin::Unknown, now), now).is_empty());
    // Even much later (outside the echo window) a reconcile poll sees Away <-> Unavailable as in sync.
    let later = now + Duration::hours(2);
    assert!(step(&cfg, &mut st, observed(Side::A, "unavailable", Origin::Unknown, later), later).is_empty());
    assert!(step(&cfg, &mut st, LinkEvent::Tick, later).is_empty());
}

#[test]
fn two_way_later_change_wins_even_when_delivered_first() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::TwoWay);
    let mut st = LinkState::default();
    let now = t0();
    // B changed at 09:00:02, A at 09:00:01; B's webhook arrives first.
    let a = step(&cfg, &mut st, observed(Side::B, "online", Origin::Others, now + Duration::seconds(2)), now);
    assert_eq!(writes(&a), vec![(Side::A, "available".into())]);
    let a = step(
        &cfg,
        &mut st,
        observed(Side::A, "unavailable", Origin::Unknown, now + Duration::seconds(1)),
        now,
    );
    assert!(writes(&a).is_empty());
    step(
        &cfg,
        &mut st,
        LinkEvent::WriteSucceeded { side: Side::A, value: ns("available") },
        now + Duration::seconds(3),
    );
    assert!(step(&cfg, &mut st, LinkEvent::Tick, now + Duration::seconds(10)).is_empty());
    assert_eq!(st.side(Side::A).observed.as_ref().map(|(v, _)| v.as_str()), Some("available"));
}

#[test]
fn failures_retry_with_backoff_then_give_up() {
    let mut cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    cfg.max_attempts = 3;
    let mut st = LinkState::default();
    let mut now = t0();
    let a = step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, now), now);
    assert_eq!(writes(&a).len(), 1);
    let fail = |v: &str| LinkEvent::WriteFailed {
        side: Side::B,
        value: ns(v),
        retry_after: None,
        error: "HTTP 503".into(),
    };
    assert!(step(&cfg, &mut st, fail("online"), now).is_empty());
    assert!(step(&cfg, &mut st, LinkEvent::Tick, now + Duration::seconds(1)).is_empty(), "backoff not over");
    now += Duration::seconds(2);
    assert_eq!(writes(&step(&cfg, &mut st, LinkEvent::Tick, now)).len(), 1);
    step(&cfg, &mut st, fail("online"), now);
    now += Duration::seconds(4);
    assert_eq!(writes(&step(&cfg, &mut st, LinkEvent::Tick, now)).len(), 1);
    let a = step(&cfg, &mut st, fail("online"), now);
    assert!(matches!(a.as_slice(), [LinkAction::Skip(SkipReason::GaveUp { attempts: 3, .. })]), "{a:?}");
    assert!(step(&cfg, &mut st, LinkEvent::Tick, now + Duration::hours(1)).is_empty());
    // A new real change tries again.
    let a = step(
        &cfg,
        &mut st,
        observed(Side::A, "unavailable", Origin::Unknown, now + Duration::hours(1)),
        now + Duration::hours(1),
    );
    assert_eq!(writes(&a), vec![(Side::B, "offline".into())]);
}

#[test]
fn retry_after_is_honoured() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let mut st = LinkState::default();
    let now = t0();
    step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, now), now);
    let ev = LinkEvent::WriteFailed {
        side: Side::B,
        value: ns("online"),
        retry_after: Some(std::time::Duration::from_secs(30)),
        error: "429".into(),
    };
    step(&cfg, &mut st, ev, now);
    assert!(step(&cfg, &mut st, LinkEvent::Tick, now + Duration::seconds(29)).is_empty());
    assert_eq!(writes(&step(&cfg, &mut st, LinkEvent::Tick, now + Duration::seconds(30))).len(), 1);
}

#[test]
fn lost_write_result_times_out_and_is_retried() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let mut st = LinkState::default();
    let now = t0();
    assert_eq!(
        writes(&step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, now), now)).len(),
        1
    );
    assert!(step(&cfg, &mut st, LinkEvent::Tick, now + Duration::seconds(59)).is_empty());
    assert_eq!(writes(&step(&cfg, &mut st, LinkEvent::Tick, now + Duration::seconds(60))).len(), 1);
}

#[test]
fn state_round_trips_through_json() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::TwoWay);
    let mut st = LinkState::default();
    step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, t0()), t0());
    let json = serde_json::to_string(&st).unwrap();
    let back: LinkState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, st);
}

// ---------- property tests over random event sequences ----------

const AIRCALL: &[&str] = &["available", "unavailable", "custom"];
const ZENDESK: &[&str] = &["online", "offline", "away", "transfers_only", "In a meeting"];

#[derive(Debug, Clone)]
enum Op {
    /// Someone changes a side to a value (index into its vocabulary).
    Change(Side, usize),
    /// Deliver the queued observation at this index (modulo length); `keep` duplicates it.
    Deliver(usize, bool),
    /// Drop a queued observation.
    Drop(usize),
    /// Time passes by this many seconds, then a tick.
    Tick(u16),
    /// The next write fails (with or without retry-after).
    FailNextWrite(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (prop_oneof![Just(Side::A), Just(Side::B)], 0usize..5).prop_map(|(s, i)| Op::Change(s, i)),
        4 => (0usize..8, any::<bool>()).prop_map(|(i, k)| Op::Deliver(i, k)),
        1 => (0usize..8).prop_map(Op::Drop),
        2 => (0u16..200).prop_map(Op::Tick),
        1 => any::<bool>().prop_map(Op::FailNextWrite),
    ]
}

fn mode() -> impl Strategy<Value = LinkMode> {
    prop_oneof![
        Just(LinkMode::OneWay { from: Side::A }),
        Just(LinkMode::OneWay { from: Side::B }),
        Just(LinkMode::TwoWay)
    ]
}

struct World {
    cfg: LinkConfig,
    st: LinkState,
    now: DateTime<Utc>,
    actual: [(NativeStatus, DateTime<Utc>); 2],
    queue: Vec<LinkEvent>,
    fail_next: Option<bool>,
    writes: usize,
    failures: usize,
    real_changes: usize,
    clobbers: usize,
}

impl World {
    fn new(mode: LinkMode) -> Self {
        let now = t0();
        Self {
            cfg: LinkConfig::new(StatusMap::aircall_zendesk(), mode),
            st: LinkState::default(),
            now,
            actual: [(ns("unavailable"), now), (ns("offline"), now)],
            queue: Vec::new(),
            fail_next: None,
            writes: 0,
            failures: 0,
            real_changes: 0,
            clobbers: 0,
        }
    }

    fn feed(&mut self, ev: LinkEvent) -> Result<(), TestCaseError> {
        let mut work = vec![ev];
        while let Some(ev) = work.pop() {
            let actions = step(&self.cfg, &mut self.st, ev, self.now);
            for a in actions {
                if let LinkAction::Read { side } = a {
                    // A one-agent read answers with what the side really holds now.
                    let value = Some(self.actual[side.index()].0.clone());
                    work.push(LinkEvent::Read { side, value });
                    continue;
                }
                let LinkAction::Write { side, value, .. } = a else { continue };
                // Invariant: a one-way link never writes its source.
                if let LinkMode::OneWay { from } = self.cfg.mode {
                    prop_assert_ne!(side, from, "one-way link wrote its source");
                }
                // Invariant: never write what the target is known to hold.
                let known = self.st.side(side).observed.as_ref().map(|(v, _)| v.clone());
                prop_assert_ne!(known, Some(value.clone()), "wrote a value the target holds");
                self.writes += 1;
                prop_assert!(self.writes <= 200, "runaway writes");
                match self.fail_next.take() {
                    Some(with_retry_after) => {
                        self.failures += 1;
                        let retry_after = with_retry_after.then(|| std::time::Duration::from_secs(5));
                        work.push(LinkEvent::WriteFailed {
                            side,
                            value,
                            retry_after,
                            error: "HTTP 503".into(),
                        });
                    }
                    None => {
                        // A write that lands on a change the link has not heard of yet
                        // overwrites it (a genuine race with the agent); count it.
                        let known_at = self.st.side(side).observed.as_ref().map(|(_, t)| *t);
                        if known_at.is_some_and(|t| self.actual[side.index()].1 > t) {
                            self.clobbers += 1;
                        }
                        self.actual[side.index()] = (value.clone(), self.now);
                        // The provider echoes our write: Zendesk (B) says PUBLIC_API, Aircall (A) says nothing.
                        let origin = if side == Side::B { Origin::Ours } else { Origin::Unknown };
                        self.queue.push(LinkEvent::Observed {
                            side,
                            value: value.clone(),
                            origin,
                            at: self.now,
                        });
                        work.push(LinkEvent::WriteSucceeded { side, value });
                    }
                }
            }
        }
        Ok(())
    }

    fn run(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Change(side, i) => {
                let vocab = if side == Side::A { AIRCALL } else { ZENDESK };
                let value = ns(vocab[i % vocab.len()]);
                self.now += Duration::seconds(1);
                if self.actual[side.index()].0 != value {
                    self.real_changes += 1;
                    self.actual[side.index()] = (value.clone(), self.now);
                    let origin = if side == Side::B { Origin::Others } else { Origin::Unknown };
                    self.queue.push(LinkEvent::Observed { side, value, origin, at: self.now });
                }
            }
            Op::Deliver(i, keep) if !self.queue.is_empty() => {
                let i = i % self.queue.len();
                let ev = if keep { self.queue[i].clone() } else { self.queue.remove(i) };
                self.feed(ev)?;
            }
            Op::Drop(i) if !self.queue.is_empty() => {
                let i = i % self.queue.len();
                self.queue.remove(i);
            }
            Op::Tick(secs) => {
                self.now += Duration::seconds(secs.into());
                self.feed(LinkEvent::Tick)?;
            }
            Op::FailNextWrite(with_retry_after) => self.fail_next = Some(with_retry_after),
            _ => {}
        }
        Ok(())
    }

    /// A reconcile pass: observe both sides as they really are (with the provider's change times).
    fn reconcile(&mut self) -> Result<(), TestCaseError> {
        let seen = |(value, at): (NativeStatus, DateTime<Utc>)| Seen { value, origin: Origin::Unknown, at };
        let (a, b) = (self.actual[0].clone(), self.actual[1].clone());
        self.feed(LinkEvent::Snapshot { a: Some(seen(a)), b: Some(seen(b)) })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Over random interleavings of changes on both sides, duplicated, reordered and dropped
    /// deliveries, failures and ticks: the invariants hold at every step (checked in `feed`),
    /// writes are bounded by real changes plus retries, and once events stop the link
    /// settles into a consistent state with no further writes.
    #[test]
    fn link_invariants_hold_and_it_settles(mode in mode(), ops in proptest::collection::vec(op(), 0..60)) {
        let mut w = World::new(mode);
        w.reconcile()?;
        for op in ops {
            w.run(op)?;
        }
        // Events stop: deliver what is still queued, reconcile, and let time pass.
        while !w.queue.is_empty() {
            let ev = w.queue.remove(0);
            w.feed(ev)?;
        }
        for _ in 0..8 {
            w.now += Duration::minutes(5);
            w.feed(LinkEvent::Tick)?;
            w.reconcile()?;
            while !w.queue.is_empty() {
                let ev = w.queue.remove(0);
                w.feed(ev)?;
            }
        }
        // No ping-pong: each real change causes at most one write, plus the initial
        // reconcile, plus one retry per failure, plus one repair per race in which our
        // write landed on a change not yet delivered to us.
        prop_assert!(w.writes <= w.real_changes + 1 + w.failures + 2 * w.clobbers,
            "writes {} > real changes {} + 1 + failures {} + 2 * clobbers {}", w.writes, w.real_changes, w.failures, w.clobbers);
        // Settled: more time and reconciles produce no writes.
        let before = w.writes;
        for _ in 0..4 {
            w.now += Duration::minutes(10);
            w.feed(LinkEvent::Tick)?;
            w.reconcile()?;
            while !w.queue.is_empty() { let ev = w.queue.remove(0); w.feed(ev)?; }
        }
        prop_assert_eq!(w.writes, before, "link did not settle");
        // Converged: the target is consistent with the source, or deliberately skipped.
        let from = source_side(&w.cfg, &w.st);
        let d = decide(&w.cfg.map, from, &w.actual[from.index()].0, Some(&w.actual[from.other().index()].0),
            w.cfg.target_policy, w.cfg.mode == LinkMode::TwoWay);
        // (A link that gave up after repeated failures waits for the next real change: that
        // is a reported, deliberate stop, not a divergence.)
        let gave_up = w.st.side(from.other()).gave_up.is_some();
        prop_assert!(gave_up || !matches!(d, Decision::Write { .. }), "not converged: {:?} with {:?}", d, w.actual);
    }
}

#[test]
fn an_unchanged_reconcile_leaves_the_state_untouched() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::TwoWay);
    let mut st = LinkState::default();
    let seen = |v: &str, at| Some(Seen { value: ns(v), origin: Origin::Unknown, at });
    step(&cfg, &mut st, LinkEvent::Snapshot { a: seen("available", t0()), b: seen("online", t0()) }, t0());
    let before = st.clone();
    let later = t0() + Duration::hours(1);
    assert!(
        step(
            &cfg,
            &mut st,
            LinkEvent::Snapshot { a: seen("available", later), b: seen("online", later) },
            later
        )
        .is_empty()
    );
    assert_eq!(st, before, "a pass that sees nothing new must not change (and so not persist) the state");
}

#[test]
fn a_late_older_event_does_not_undo_a_newer_one_with_the_same_value() {
    // Aircall (no actor): available at t0 (poll), unavailable at +60, available at +120;
    // the +120 webhook arrives first, then the +60 one. The +60 one is older: no write.
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let mut st = LinkState::default();
    let now = t0();
    let snapshot = |v: &str, at| Some(Seen { value: ns(v), origin: Origin::Unknown, at });
    let a = step(
        &cfg,
        &mut st,
        LinkEvent::Snapshot { a: snapshot("available", now), b: snapshot("online", now) },
        now,
    );
    assert!(a.is_empty(), "{a:?}");
    let later = now + Duration::seconds(180);
    let a = step(
        &cfg,
        &mut st,
        observed(Side::A, "available", Origin::Unknown, now + Duration::seconds(120)),
        later,
    );
    assert!(a.is_empty(), "{a:?}");
    let a = step(
        &cfg,
        &mut st,
        observed(Side::A, "unavailable", Origin::Unknown, now + Duration::seconds(60)),
        later,
    );
    assert!(writes(&a).is_empty(), "an older delivery must not win: {a:?}");
    // A later snapshot of the same value leaves the state untouched.
    let before = st.clone();
    step(
        &cfg,
        &mut st,
        LinkEvent::Snapshot { a: snapshot("available", later), b: snapshot("online", later) },
        later,
    );
    assert_eq!(st, before);
}

// ---------- ordering under skew, whole-second stamps and future stamps ----------

/// What can happen around a one-way Aircall → Zendesk link in the skew property test.
#[derive(Debug, Clone)]
enum SkewOp {
    /// After `wait` ms, the agent sets Aircall to `AIRCALL[i % 3]`; the webhook is queued.
    Change(usize, u32),
    /// Deliver queued webhook `i` (modulo length); `keep` leaves a copy queued (duplicate).
    Deliver(usize, bool),
    /// Drop queued webhook `i` (the provider retries it at the end).
    Drop(usize),
    /// Replay webhook `i` of the history (modulo length), stamped in the year 2230.
    Replay(usize),
    /// A reconcile pass whose listing takes `len` ms and reads this agent `offset` ms into
    /// it; optionally the agent changes `at` ms into the listing to `AIRCALL[i % 3]`.
    Pass { len: u32, offset: u32, change: Option<(usize, u32)> },
    /// Time passes.
    Wait(u32),
}

fn skew_op() -> impl Strategy<Value = SkewOp> {
    prop_oneof![
        4 => (0usize..3, 0u32..4_000).prop_map(|(i, w)| SkewOp::Change(i, w)),
        4 => (0usize..8, any::<bool>()).prop_map(|(i, k)| SkewOp::Deliver(i, k)),
        1 => (0usize..8).prop_map(SkewOp::Drop),
        1 => (0usize..8).prop_map(SkewOp::Replay),
        2 => (0u32..6_000, 0u32..=100, proptest::option::of((0usize..3, 0u32..=100))).prop_map(
            |(len, offset, change)| SkewOp::Pass {
                len,
                offset: len * offset / 100,
                change: change.map(|(i, at)| (i, len * at / 100)),
            }
        ),
        2 => (0u32..90_000).prop_map(SkewOp::Wait),
    ]
}

/// The one-way link against a provider whose clock is `skew_ms` off ours and stamps in
/// whole seconds. Writes and reads are answered at once with the truth.
struct SkewWorld {
    cfg: LinkConfig,
    st: LinkState,
    context: StepContext,
    now: DateTime<Utc>,
    skew_ms: i64,
    /// What Aircall (A) and Zendesk (B) really hold.
    actual: [NativeStatus; 2],
    queue: Vec<LinkEvent>,
    history: Vec<LinkEvent>,
    /// The webhook of the last real change on Aircall, if any.
    last_change: Option<LinkEvent>,
}

impl SkewWorld {
    fn new(skew_ms: i64) -> Self {
        Self {
            cfg: LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A }),
            st: LinkState::default(),
            context: StepContext::default(),
            now: t0() + Duration::milliseconds(123),
            skew_ms,
            actual: [ns("unavailable"), ns("offline")],
            queue: Vec::new(),
            history: Vec::new(),
            last_change: None,
        }
    }

    /// The provider's whole-second stamp for a change at `at` (our clock).
    fn stamp(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let provider = at + Duration::milliseconds(self.skew_ms);
        DateTime::from_timestamp(provider.timestamp(), 0).unwrap_or(provider)
    }

    fn change(&mut self, i: usize, at: DateTime<Utc>) {
        let value = ns(AIRCALL[i % AIRCALL.len()]);
        if self.actual[0] == value {
            return;
        }
        self.actual[0] = value.clone();
        let event = LinkEvent::Observed { side: Side::A, value, origin: Origin::Unknown, at: self.stamp(at) };
        self.queue.push(event.clone());
        self.history.push(event.clone());
        self.last_change = Some(event);
    }

    fn feed(&mut self, event: LinkEvent) -> Result<(), TestCaseError> {
        let mut work = vec![event];
        let mut steps = 0;
        while let Some(event) = work.pop() {
            steps += 1;
            prop_assert!(steps < 100, "runaway reads or writes");
            let outcome = step_with(&self.cfg, &mut self.st, event, self.now, &self.context);
            for action in outcome.actions {
                match action {
                    LinkAction::Read { side } => {
                        work.push(LinkEvent::Read { side, value: Some(self.actual[side.index()].clone()) })
                    }
                    LinkAction::Write { side, value, .. } => {
                        prop_assert_eq!(side, Side::B, "one-way link wrote its source");
                        self.actual[1] = value.clone();
                        // Zendesk echoes our write, naming the API as the actor.
                        let echo = LinkEvent::Observed {
                            side,
                            value: value.clone(),
                            origin: Origin::Ours,
                            at: self.stamp(self.now),
                        };
                        self.queue.push(echo);
                        work.push(LinkEvent::WriteSucceeded { side, value });
                    }
                    LinkAction::Skip(_) => {}
                }
            }
        }
        Ok(())
    }

    fn run(&mut self, op: SkewOp) -> Result<(), TestCaseError> {
        match op {
            SkewOp::Change(i, wait) => {
                self.now += Duration::milliseconds(wait.into());
                self.change(i, self.now);
            }
            SkewOp::Deliver(i, keep) if !self.queue.is_empty() => {
                let i = i % self.queue.len();
                let event = if keep { self.queue[i].clone() } else { self.queue.remove(i) };
                self.feed(event)?;
            }
            SkewOp::Drop(i) if !self.queue.is_empty() => {
                let i = i % self.queue.len();
                self.queue.remove(i);
            }
            SkewOp::Replay(i) if !self.history.is_empty() => {
                let mut event = self.history[i % self.history.len()].clone();
                if let LinkEvent::Observed { at, .. } = &mut event {
                    *at = Utc.with_ymd_and_hms(2230, 1, 1, 0, 0, 0).single().unwrap_or_default();
                }
                self.feed(event)?;
            }
            SkewOp::Pass { len, offset, change } => {
                let start = self.now;
                let before = self.actual[0].clone();
                if let Some((i, at)) = change {
                    self.change(i, start + Duration::milliseconds(at.into()));
                }
                // The agent's value as the listing read it, `offset` ms into the listing.
                let read = match change {
                    Some((_, at)) if at <= offset => self.actual[0].clone(),
                    _ => before,
                };
                self.now = start + Duration::milliseconds(len.into());
                self.context.last_read = Some(self.now);
                let seen = |value: NativeStatus| Some(Seen { value, origin: Origin::Unknown, at: start });
                let event = LinkEvent::Snapshot { a: seen(read), b: seen(self.actual[1].clone()) };
                self.feed(event)?;
            }
            SkewOp::Wait(ms) => {
                self.now += Duration::milliseconds(ms.into());
                self.feed(LinkEvent::Tick)?;
            }
            _ => {}
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// The ordering invariant: once the last real change has been delivered (whatever
    /// came before, after or twice: older deliveries, duplicates, replays stamped in 2230,
    /// passes whose listing read the agent anywhere inside it), the target holds the
    /// mapping of the source's actual value, with no further reconcile pass. Provider
    /// clocks are up to ±5 s off ours and stamp in whole seconds.
    #[test]
    fn the_target_follows_the_last_real_change_without_a_pass(
        skew_ms in -5_000i64..=5_000,
        first_pass in (0u32..6_000, 0u32..=100),
        ops in proptest::collection::vec(skew_op(), 0..50),
    ) {
        let mut w = SkewWorld::new(skew_ms);
        w.run(SkewOp::Pass { len: first_pass.0, offset: first_pass.0 * first_pass.1 / 100, change: None })?;
        for op in ops {
            w.run(op)?;
        }
        // Deliver what is still queued (in its shuffled order); a dropped delivery of the
        // last change is retried by the provider, last.
        while !w.queue.is_empty() {
            let event = w.queue.remove(0);
            w.feed(event)?;
        }
        if let Some(last) = w.last_change.clone() {
            w.now += Duration::milliseconds(500);
            w.feed(last)?;
        }
        while !w.queue.is_empty() {
            let event = w.queue.remove(0);
            w.feed(event)?;
        }
        let source = w.actual[0].clone();
        match w.cfg.map.translate_value(Side::A, &source) {
            Some(want) => prop_assert_eq!(&w.actual[1], want, "source {:?}, state {:?}", source, w.st),
            None => prop_assert_eq!(source.as_str(), "custom"),
        }
    }
}

#[test]
fn a_change_in_the_second_of_a_pass_is_read_not_dropped() {
    // The pass started 400 ms into 09:00:00; the agent changed at 09:00:00.600, and
    // Aircall stamps it 09:00:00.
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let mut st = LinkState::default();
    let start = t0() + Duration::milliseconds(400);
    let seen = |v: &str| Some(Seen { value: ns(v), origin: Origin::Unknown, at: start });
    let context = StepContext { last_read: Some(start), ..StepContext::default() };
    step_with(
        &cfg,
        &mut st,
        LinkEvent::Snapshot { a: seen("unavailable"), b: seen("offline") },
        start,
        &context,
    );
    let now = t0() + Duration::milliseconds(700);
    let out = step_with(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, t0()), now, &context);
    assert_eq!(out.actions, vec![LinkAction::Read { side: Side::A }]);
    assert!(matches!(out.verdicts.as_slice(), [(Side::A, Verdict::Doubtful { .. })]), "{out:?}");
    let out = step_with(
        &cfg,
        &mut st,
        LinkEvent::Read { side: Side::A, value: Some(ns("available")) },
        now,
        &context,
    );
    assert_eq!(writes(&out.actions), vec![(Side::B, "online".to_owned())]);
}

#[test]
fn a_future_stamp_is_clamped_and_read() {
    let cfg = LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::OneWay { from: Side::A });
    let mut st = LinkState::default();
    let now = t0();
    step(&cfg, &mut st, observed(Side::A, "unavailable", Origin::Unknown, now - Duration::hours(1)), now);
    step(&cfg, &mut st, LinkEvent::WriteSucceeded { side: Side::B, value: ns("offline") }, now);
    let future = Utc.with_ymd_and_hms(2230, 1, 1, 0, 0, 0).single().unwrap_or_default();
    let out = step_with(
        &cfg,
        &mut st,
        observed(Side::A, "available", Origin::Unknown, future),
        now,
        &StepContext::default(),
    );
    assert_eq!(out.actions, vec![LinkAction::Read { side: Side::A }]);
    assert_eq!(
        out.verdicts,
        vec![(
            Side::A,
            Verdict::Doubtful {
                at: now,
                known_at: Some(now - Duration::hours(1)),
                clamped_from: Some(future)
            }
        )]
    );
    // Nothing of the future stamp is kept: a later real change is clearly newer.
    let later = now + Duration::minutes(5);
    let a = step(&cfg, &mut st, observed(Side::A, "available", Origin::Unknown, later), later);
    assert_eq!(writes(&a), vec![(Side::B, "online".to_owned())]);
}

#[test]
fn a_link_config_stored_with_the_former_chrono_durations_still_reads() {
    let mut stored =
        serde_json::to_value(LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::TwoWay)).unwrap();
    // Before 0.1 the durations were chrono's, serialised as `[secs, nanos]`.
    stored["echo_window"] = serde_json::json!([120, 0]);
    stored["write_timeout"] = serde_json::json!([60, 0]);
    stored["retry_base"] = serde_json::json!([2, 0]);
    stored["tolerance"] = serde_json::json!([30, 0]);
    let config: LinkConfig = serde_json::from_value(stored).unwrap();
    assert_eq!(config, LinkConfig::new(StatusMap::aircall_zendesk(), LinkMode::TwoWay));
}
