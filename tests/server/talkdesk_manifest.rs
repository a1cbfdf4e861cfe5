//! The Talkdesk manifest: validation names every bad field, the mycrm example renders the
//! activation document and round-trips through JSON.
#![cfg(feature = "talkdesk")]

use deskbridge::talkdesk::{
    ActionDefinition, ActionInput, AuthField, AuthenticationType, InputType, Manifest, ManifestBuilder,
    ManifestError,
};
use url::Url;

fn base() -> Url {
    Url::parse("https://bridge.example.com/talkdesk/").unwrap()
}

fn mycrm() -> Manifest {
    Manifest::example_mycrm(&base()).unwrap()
}

/// A valid builder to break one field at a time.
fn valid_builder() -> ManifestBuilder {
    Manifest::builder()
        .name("mycrm")
        .display_name("MyCRM")
        .description("tickets")
        .logo_url("https://cdn.example.com/logo.png")
        .icon_url("https://cdn.example.com/icon.png")
        .authentication_type(AuthenticationType::Custom)
        .auth_field(AuthField::input("token", "API Token"))
        .contact_synchronization_endpoint("https://bridge.example.com/contacts")
}

fn action(name: &str, path: &str) -> ActionDefinition {
    ActionDefinition::new("mycrm", name, "do it", "does it", format!("https://bridge.example.com{path}"))
}

fn problems(error: &ManifestError) -> Vec<String> {
    error.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn valid_builder_builds() {
    let manifest = valid_builder().action(action("a", "/a")).build().unwrap();
    assert_eq!(manifest.actions().len(), 1);
}

#[test]
fn mycrm_markdown_has_integration_and_action_tables() {
    let markdown = mycrm().to_markdown();
    assert!(markdown.contains("## Integration Details\n\n| Field | Value |\n|---|---|\n"));
    assert!(markdown.contains("| name | mycrm |"));
    assert!(markdown.contains("| authentication_type | custom |"));
    assert!(markdown.contains("field_name: account<br>display: Account<br>mandatory: true<br>type: input"));
    assert!(
        markdown.contains("help: Find under Settings > Account<br>format: https://{{account}}.example.org")
    );
    assert!(
        markdown.contains(
            "| contact_synchronization_endpoint | https://bridge.example.com/talkdesk/contact_sync |"
        )
    );
    assert!(markdown.contains("| interaction_types | ticket, case |"));
    assert!(markdown.contains("## Action Details: create_ticket\n\n| Field | Value |\n|---|---|\n"));
    assert!(markdown.contains("| provider | mycrm |"));
    assert!(markdown.contains("| endpoint | https://bridge.example.com/talkdesk/actions/create_ticket |"));
    assert!(markdown.contains("key: firstName<br>name: First name<br>type: text<br>format: {{contact.first_name}}<br>mandatory: true"));
    assert!(markdown.contains("type: select<br>format: AL,AK,AZ,AR,CA,CO,CT,DE,FL<br>mandatory: true"));
    assert!(markdown.contains("type: datetime<br>format: YYYY-MM-DDTHH:mm:ssZ<br>mandatory: false"));
    // Every table row has exactly two cells: a multi-line description stays in its cell.
    for line in markdown.lines().filter(|line| line.starts_with('|')) {
        assert_eq!(line.replace("\\|", "").matches('|').count(), 3, "row breaks the table: {line}");
    }
}

#[test]
fn mycrm_json_uses_talkdesk_names_and_round_trips() {
    let manifest = mycrm();
    let json = manifest.to_json_pretty().unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["name"], "mycrm");
    assert_eq!(value["authentication_type"], "custom");
    assert_eq!(value["authentication_configuration"][0]["field_name"], "account");
    assert_eq!(value["authentication_configuration"][0]["format"], "https://{{account}}.example.org");
    assert_eq!(value["auth_validation_endpoint"], "https://bridge.example.com/talkdesk/auth_validation");
    assert_eq!(value["agent_synchronization_endpoint"], "https://bridge.example.com/talkdesk/agent_sync");
    let inputs = &value["actions"][0]["inputs"];
    assert_eq!(inputs[2]["key"], "state");
    assert_eq!(inputs[2]["type"], "select");
    assert_eq!(inputs[2]["format"], "AL,AK,AZ,AR,CA,CO,CT,DE,FL");
    assert_eq!(inputs[3]["type"], "datetime");
    assert_eq!(inputs[0].get("format"), None);
    assert_eq!(Manifest::from_json(&json).unwrap(), manifest);
    let through_serde: Manifest = serde_json::from_value(value).unwrap();
    assert_eq!(through_serde, manifest);
}

#[test]
fn unknown_input_types_and_legacy_auth_fields_are_read() {
    let mut value = serde_json::to_value(mycrm()).unwrap();
    value["actions"][0]["inputs"][0]["type"] = "key/value".into();
    value["authentication_configuration"] = serde_json::json!([
        {"account": {"source": "input", "display": "Account", "mandatory": true, "type": "input", "store": true}},
        {"token": {"display": "API Token", "mandatory": true, "type": "input", "store": true}}
    ]);
    let manifest: Manifest = serde_json::from_value(value).unwrap();
    let input = &manifest.actions()[0].inputs[0];
    assert_eq!(input.input_type, InputType::Other("key/value".into()));
    assert_eq!(manifest.integration().authentication_configuration[1].field_name, "token");
    let written = serde_json::to_value(&manifest).unwrap();
    assert_eq!(written["actions"][0]["inputs"][0]["type"], "key/value");
}

#[test]
fn missing_mandatory_fields_are_all_reported() {
    let error = Manifest::builder().build().unwrap_err();
    for field in ["name", "display_name", "description", "logo_url", "icon_url", "authentication_type"] {
        assert!(error.mentions(field), "{field} not reported in {error}");
    }
    let error = valid_builder()
        .action(ActionDefinition::new("mycrm", "", "", "", "").input(ActionInput::text("", "")))
        .build()
        .unwrap_err();
    for field in [
        "actions[0].name",
        "actions[0].display",
        "actions[0].description",
        "actions[0].endpoint",
        "actions[0].inputs[0].key",
        "actions[0].inputs[0].name",
    ] {
        assert!(error.mentions(field), "{field} not reported in {error}");
    }
}

#[test]
fn json_with_missing_fields_reports_them_all() {
    let error = Manifest::from_json(r#"{"name": "mycrm", "actions": [{"provider": "other"}]}"#).unwrap_err();
    let text = error.to_string();
    for part in
        ["display_name: is missing", "logo_url: is missing", "actions[0].provider: `other` must equal"]
    {
        assert!(text.contains(part), "{part} not in {text}");
    }
}

#[test]
fn duplicate_names_are_rejected() {
    let error = valid_builder()
        .auth_field(AuthField::input("token", "Token again"))
        .action(action("create", "/a"))
        .action(
            action("create", "/b")
                .input(ActionInput::text("subject", "Subject"))
                .input(ActionInput::text("subject", "Subject again")),
        )
        .build()
        .unwrap_err();
    let text = problems(&error);
    assert!(text.contains(&"authentication_configuration[1].field_name: `token` is already used by authentication_configuration[0]".to_owned()), "{text:?}");
    assert!(text.contains(&"actions[1].name: `create` is already used by actions[0]".to_owned()), "{text:?}");
    assert!(
        text.contains(
            &"actions[1].inputs[1].key: `subject` is already used by actions[1].inputs[0]".to_owned()
        ),
        "{text:?}"
    );
}

#[test]
fn provider_must_equal_the_integration_name() {
    let error = valid_builder()
        .action(ActionDefinition::new("othercrm", "a", "d", "d", "https://bridge.example.com/a"))
        .build()
        .unwrap_err();
    assert_eq!(problems(&error), ["actions[0].provider: `othercrm` must equal the integration name `mycrm`"]);
}

#[test]
fn select_options_must_not_be_empty() {
    let error = valid_builder()
        .action(
            action("a", "/a")
                .input(ActionInput::text("one", "One"))
                .input(ActionInput::text("two", "Two"))
                .input(ActionInput::select::<&str>("state", "State", &[])),
        )
        .build()
        .unwrap_err();
    assert_eq!(problems(&error), ["actions[0].inputs[2].format: select options are empty"]);
    let error = valid_builder()
        .action(action("a", "/a").input(ActionInput::select("state", "State", &["AL", "", "AL"])))
        .build()
        .unwrap_err();
    assert!(error.mentions("actions[0].inputs[0].format"));
    assert_eq!(error.problems.len(), 2, "{error}");
}

#[test]
fn endpoints_must_be_absolute_https_urls_on_distinct_paths() {
    let error = valid_builder()
        .auth_validation_endpoint("http://bridge.example.com/auth")
        .agent_synchronization_endpoint("/agents")
        .interaction_retrieval_endpoint("https://bridge.example.com/contacts")
        .interaction_types(["ticket"])
        .logo_url("ftp://cdn.example.com/logo.png")
        .action(action("a", "/a"))
        .action(ActionDefinition::new("mycrm", "b", "d", "d", "not a url"))
        .build()
        .unwrap_err();
    let text = problems(&error);
    assert!(
        text.iter().any(|p| p
            .starts_with("auth_validation_endpoint: `http://bridge.example.com/auth` must be an https URL")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.starts_with("agent_synchronization_endpoint: `/agents` is not an absolute URL")),
        "{text:?}"
    );
    assert!(text.iter().any(|p| p.starts_with("logo_url:")), "{text:?}");
    assert!(
        text.iter().any(|p| p.starts_with("actions[1].endpoint: `not a url` is not an absolute URL")),
        "{text:?}"
    );
    assert!(
        text.contains(&"interaction_retrieval_endpoint: path `/contacts` is already served by contact_synchronization_endpoint".to_owned()),
        "{text:?}"
    );
    assert_eq!(text.len(), 5, "{text:?}");
}

#[test]
fn custom_authentication_needs_fields_and_retrieval_needs_types() {
    let error = Manifest::builder()
        .name("mycrm")
        .display_name("MyCRM")
        .description("d")
        .logo_url("https://cdn.example.com/logo.png")
        .icon_url("https://cdn.example.com/icon.png")
        .authentication_type(AuthenticationType::Custom)
        .interaction_retrieval_endpoint("https://bridge.example.com/interactions")
        .build()
        .unwrap_err();
    assert!(error.mentions("authentication_configuration"), "{error}");
    assert!(error.mentions("interaction_types"), "{error}");
}

#[test]
fn datetime_formats_must_be_understood() {
    let error = valid_builder()
        .action(action("a", "/a").input(ActionInput::datetime("when", "When", "MM/DD/YYYY hh:mm A")))
        .build()
        .unwrap_err();
    let text = problems(&error);
    assert_eq!(text.len(), 1);
    assert!(text[0].starts_with("actions[0].inputs[0].format: unsupported datetime token `hh`"), "{text:?}");
}

#[test]
fn example_needs_an_https_base() {
    let error = Manifest::example_mycrm(&Url::parse("http://127.0.0.1:8080/").unwrap()).unwrap_err();
    assert!(error.mentions("auth_validation_endpoint") && error.mentions("actions[0].endpoint"), "{error}");
    let error: deskbridge::Error = error.into();
    assert!(error.to_string().contains("must be an https URL"));
}
