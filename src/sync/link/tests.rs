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
