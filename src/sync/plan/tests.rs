use super::*;

fn agent(id: &str, email: &str, status: &str, groups: &[&str]) -> Agent {
    Agent {
        id: id.into(),
        email: (!email.is_empty()).then(|| email.into()),
        name: format!("Agent {id}").into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        statuses: crate::status::Statuses::from([(Channel::Voice, NativeStatus::from(status))]),
    }
}

/// Plan Aircall → Zendesk with the seed mapping, no filter and no overrides.
fn aircall_to_zendesk(aircall: &[Agent], zendesk: &[Agent]) -> Plan {
    plan_one_way(
        "aircall",
        aircall,
        "zendesk",
        zendesk,
        &OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A),
    )
}

fn roster() -> (Vec<Agent>, Vec<Agent>) {
    let aircall = vec![
        agent("1", "ana@example.com", "available", &[]), // in sync with Zendesk online
        agent("2", "Ben@Example.com", "available", &[]), // out of sync (zendesk offline)
        agent("3", "carla@example.com", "unavailable", &[]), // out of sync (zendesk online)
        agent("4", "dev@example.com", "custom", &[]),    // Automatic Schedule: not synced
        agent("5", "eve@example.com", "available", &[]), // Zendesk custom status
        agent("6", "only-aircall@example.com", "available", &[]),
        agent("7", "", "available", &[]),
    ];
    let zendesk = vec![
        agent("z1", "ana@example.com", "online", &["Support"]),
        agent("z2", "ben@example.com", "offline", &["Support"]),
        agent("z3", "carla@example.com", "online", &["Managers"]),
        agent("z4", "dev@example.com", "online", &["Support"]),
        agent("z5", "eve@example.com", "In a meeting", &["Support"]),
        agent("z8", "only-zendesk@example.com", "online", &[]),
    ];
    (aircall, zendesk)
}

#[test]
fn plans_exactly_the_seed_mapping_writes() {
    let (a, z) = roster();
    let plan = aircall_to_zendesk(&a, &z);
    let writes: Vec<(&str, &str)> =
        plan.changes.iter().map(|c| (c.agent.target_id.as_str(), c.to.as_str())).collect();
    assert_eq!(writes, vec![("z2", "online"), ("z3", "offline")]);
    let reasons: Vec<&str> = plan.changes.iter().map(|c| c.reason.as_str()).collect();
    assert_eq!(reasons, vec!["aircall \"available\" → online", "aircall \"unavailable\" → offline"]);
    let froms: Vec<Option<&str>> =
        plan.changes.iter().map(|c| c.from.as_ref().map(NativeStatus::as_str)).collect();
    assert_eq!(froms, vec![Some("offline"), Some("online")]);
    let agent = &plan.changes[0].agent;
    assert_eq!(
        (agent.email.as_deref(), agent.name.as_str(), agent.source_id.as_deref()),
        (Some("ben@example.com"), "Agent z2", Some("2"))
    );
    assert_eq!(plan.in_sync, 1);
    let skipped: Vec<(&str, &SkipReason)> =
        plan.skipped.iter().map(|s| (s.agent.target_id.as_str(), &s.reason)).collect();
    assert!(
        matches!(
            skipped.as_slice(),
            [("z4", SkipReason::SourceUnmapped { .. }), ("z5", SkipReason::TargetProtected { .. })]
        ),
        "{skipped:?}"
    );
    let unmatched: Vec<(&str, &str, UnmatchedWhy)> =
        plan.unmatched.iter().map(|u| (u.provider.as_str(), u.id.as_str(), u.why)).collect();
    assert_eq!(
        unmatched,
        vec![
            ("aircall", "6", UnmatchedWhy::NoMatch),
            ("aircall", "7", UnmatchedWhy::NoEmail),
            ("zendesk", "z8", UnmatchedWhy::NoMatch)
        ]
    );
}

#[test]
fn many_changes_keep_their_agents_in_left_order() {
    // More changes than one block of the change-building pass, with ids, names and
    // e-mails long enough to be stored outside the inline texts.
    let long = "a-rather-long-department-name";
    let aircall: Vec<Agent> = (0..100)
        .map(|i| agent(&format!("{long}-{i}"), &format!("{long}.{i}@example.com"), "available", &[]))
        .collect();
    let zendesk: Vec<Agent> = (0..100)
        .rev()
        .map(|i| agent(&format!("z-{long}-{i}"), &format!("{long}.{i}@EXAMPLE.com"), "offline", &[]))
        .collect();
    let plan = aircall_to_zendesk(&aircall, &zendesk);
    assert_eq!(plan.changes.len(), 100);
    for (i, change) in plan.changes.iter().enumerate() {
        assert_eq!(change.agent.source_id.as_deref(), Some(format!("{long}-{i}").as_str()));
        assert_eq!(change.agent.target_id, format!("z-{long}-{i}"));
        assert_eq!(change.agent.email.as_deref(), Some(format!("{long}.{i}@EXAMPLE.com").as_str()));
        assert_eq!(change.reason, "aircall \"available\" → online");
        assert_eq!(change.to, "online");
    }
}

#[test]
fn many_distinct_values_are_each_decided_on_their_own() {
    // More distinct (source, target) pairs than the planner remembers decisions for.
    let aircall: Vec<Agent> =
        (0..80).map(|i| agent(&i.to_string(), &format!("a{i}@x.io"), "available", &[])).collect();
    let zendesk: Vec<Agent> = (0..80)
        .map(|i| {
            let status = if i % 2 == 0 { format!("Custom {i}") } else { "offline".to_owned() };
            agent(&format!("z{i}"), &format!("a{i}@x.io"), &status, &[])
        })
        .collect();
    let plan = aircall_to_zendesk(&aircall, &zendesk);
    assert_eq!(plan.changes.len(), 40);
    assert!(plan.changes.iter().all(|c| c.from.as_ref().is_some_and(|f| f == "offline")));
    assert_eq!(plan.skipped.len(), 40);
    for (skip, i) in plan.skipped.iter().zip((0..80).step_by(2)) {
        assert_eq!(skip.agent.target_id, format!("z{i}"));
        let SkipReason::TargetProtected { value, .. } = &skip.reason else { panic!("{skip:?}") };
        assert_eq!(value.as_str(), format!("Custom {i}"));
    }
}

#[test]
fn reverse_direction_and_filters() {
    let (a, z) = roster();
    let mut spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::B);
    spec.filter = GroupFilter::default().do_not_change(["Managers"]);
    // Zendesk → Aircall: filter applies to the target (Aircall) agents' groups, which are empty.
    let plan = plan_one_way("zendesk", &z, "aircall", &a, &spec);
    let writes: Vec<(&str, &str)> =
        plan.changes.iter().map(|c| (c.agent.target_id.as_str(), c.to.as_str())).collect();
    // ben: offline → unavailable; carla: online → available; dev: custom is protected; eve: custom source unmapped.
    assert_eq!(writes, vec![("2", "unavailable"), ("3", "available")]);
    // Filter on Zendesk groups when Zendesk is the target.
    let mut spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    spec.filter = GroupFilter::default().do_not_change(["Managers"]);
    let plan = plan_one_way("aircall", &a, "zendesk", &z, &spec);
    assert_eq!(plan.changes.len(), 1);
    assert!(plan.skipped.iter().any(
        |s| s.agent.target_id == "z3" && s.reason == SkipReason::DoNotChange { group: "Managers".into() }
    ));
}

#[test]
fn planning_an_applied_plan_again_writes_nothing() {
    let (a, mut z) = roster();
    let spec = OneWaySpec::new(StatusMap::aircall_zendesk(), Side::A);
    let plan = plan_one_way("aircall", &a, "zendesk", &z, &spec);
    for c in &plan.changes {
        let t = z.iter_mut().find(|t| t.id == c.agent.target_id).unwrap();
        t.statuses.insert(c.channel, c.to.clone());
    }
    let again = plan_one_way("aircall", &a, "zendesk", &z, &spec);
    assert!(again.changes.is_empty());
    assert_eq!(again.in_sync, 3);
}

#[test]
fn report_renders_as_table_and_json() {
    let (a, z) = roster();
    let plan = aircall_to_zendesk(&a, &z);
    let report = SyncReport::preview(plan);
    let text = report.to_string();
    assert!(
        text.starts_with(
            "aircall → zendesk (dry run): 2 would write, 2 skipped, 0 failed, 3 unmatched, 1 already in sync"
        ),
        "{text}"
    );
    assert!(text.contains("ben@example.com") && text.contains("offline → online"), "{text}");
    assert!(text.contains("Automatic Schedule"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["written"][0]["to"], "online");
    assert_eq!(json["skipped"][0]["reason"]["kind"], "source_unmapped");
    // The preview flag keeps the JSON shape reports had: the boolean `dry_run`.
    assert_eq!(json["dry_run"], true);
    assert!(json.get("mode").is_none());
    let back: SyncReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.mode, RunMode::Preview);
}

#[test]
fn a_preview_report_carries_the_plan_and_its_warnings() {
    let (a, z) = roster();
    let mut plan = aircall_to_zendesk(&a, &z);
    plan.warnings.push("unknown group \"Night\"".into());
    let report = SyncReport::preview(plan.clone());
    assert!(report.mode.is_preview());
    assert_eq!(report.written, plan.changes);
    assert_eq!(report.skipped, plan.skipped);
    assert_eq!(report.unmatched, plan.unmatched);
    assert_eq!(report.in_sync, plan.in_sync);
    assert_eq!(report.warnings, plan.warnings);
    assert!(report.failed.is_empty());
    let applied: SyncReport = serde_json::from_value(serde_json::json!({
        "source": "a", "target": "b", "dry_run": false, "written": [], "skipped": [], "failed": [],
        "unmatched": [], "in_sync": 0, "warnings": []
    }))
    .unwrap();
    assert_eq!(applied.mode, RunMode::Apply);
}
