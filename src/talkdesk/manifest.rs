//! The integration manifest ("Integration Details") and the action manifests ("Action
//! Details"), their validation, and the validation of action inputs against them.

use std::collections::{BTreeMap, HashMap};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use url::Url;

use super::datetime::DateTimeFormat;

open_enum! {
    /// How Talkdesk authenticates the account holder with the bridged service
    /// (`authentication_type`). Talkdesk sends the resulting credential fields to the bridge
    /// inside `auth` on every call.
    pub enum AuthenticationType {
        /// No credentials at all.
        None => "none",
        /// The user types the fields of `authentication_configuration`.
        Custom => "custom",
        /// OAuth 2.0 Authorization Code grant, run by Talkdesk.
        OAuth2 => "oauth2",
        /// OAuth 2.0 Password grant (current docs only).
        OAuth2Password => "oauth2_password",
        /// OAuth 2.0 Client Credentials grant (current docs only).
        OAuth2ClientCredentials => "oauth2_client_credentials",
    }
}

open_enum! {
    /// Where an authentication field's value comes from (`type`).
    pub enum AuthFieldType {
        /// Typed by the user.
        Input => "input",
        /// Supplied by the OAuth authority.
        OAuth => "oauth",
    }
}

open_enum! {
    /// The type of an action input (`type`).
    ///
    /// Talkdesk's submission template shows `text`, `select` and `datetime`; an old design
    /// branch also lists `textarea`, `email`, `tel`, `number`, `time` and `key/value`. Which
    /// of these Talkdesk accepts today is UNCONFIRMED, so any other value is kept verbatim in
    /// [`InputType::Other`] and validated like text.
    pub enum InputType {
        /// Free text; a `{{contact.*}}` template in `format` pre-fills it.
        Text => "text",
        /// Multi-line free text.
        Textarea => "textarea",
        /// One of the comma-separated options in `format`.
        Select => "select",
        /// A moment in the moment.js-like `format` (see [`DateTimeFormat`]).
        Datetime => "datetime",
    }
}

fn default_input_type() -> InputType {
    InputType::Text
}

fn default_auth_field_type() -> AuthFieldType {
    AuthFieldType::Input
}

fn default_true() -> bool {
    true
}

fn missing_authentication_type() -> AuthenticationType {
    AuthenticationType::Other(String::new())
}

/// One credential field of `authentication_configuration`.
///
/// When read from JSON, both the current shape (`{"field_name": "account", "display": …}`) and
/// Talkdesk's legacy shape (`{"account": {"display": …}}`, the field name as the key) are
/// accepted; it is always written in the current shape. Missing `mandatory` reads as `false`,
/// missing `store` as `true`, missing `type` as `input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthField {
    /// The key under which the value arrives in `auth`.
    #[serde(default)]
    pub field_name: String,
    /// The label shown to the user.
    #[serde(default)]
    pub display: String,
    /// Whether Talkdesk requires the field (it validates only mandatory fields). The router
    /// answers 401 when a mandatory stored field is missing from a request.
    #[serde(default)]
    pub mandatory: bool,
    /// Where the value comes from.
    #[serde(rename = "type", default = "default_auth_field_type")]
    pub field_type: AuthFieldType,
    /// Whether Talkdesk keeps the value (e.g. `false` for a one-time OAuth `code`).
    #[serde(default = "default_true")]
    pub store: bool,
    /// A hint shown next to the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// An input template, e.g. `https://{{account}}.example.org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Legacy only: `input`, `default` or `auth_validation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl AuthField {
    /// A mandatory, stored field typed by the user.
    pub fn input(field_name: impl Into<String>, display: impl Into<String>) -> Self {
        Self {
            field_name: field_name.into(),
            display: display.into(),
            mandatory: true,
            field_type: AuthFieldType::Input,
            store: true,
            help: None,
            format: None,
            source: None,
        }
    }

    /// Set whether the field is mandatory.
    pub fn mandatory(mut self, mandatory: bool) -> Self {
        self.mandatory = mandatory;
        self
    }

    /// Set the hint shown next to the field.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Set the input template.
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }
}

/// Reads an `authentication_configuration` entry in the current or the legacy shape.
fn deserialize_auth_fields<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<AuthField>, D::Error> {
    let entries = Vec::<serde_json::Map<String, Value>>::deserialize(deserializer)?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let legacy = entry.len() == 1
                && !entry.contains_key("field_name")
                && !entry.contains_key("display")
                && entry.values().all(Value::is_object);
            let (name, body) = if legacy {
                let mut iter = entry.into_iter();
                match iter.next() {
                    Some((name, body)) => (Some(name), body),
                    None => (None, Value::Object(serde_json::Map::new())),
                }
            } else {
                (None, Value::Object(entry))
            };
            let mut field: AuthField = serde_json::from_value(body).map_err(|error| {
                D::Error::custom(format!("authentication_configuration[{index}]: {error}"))
            })?;
            if let Some(name) = name.filter(|_| field.field_name.is_empty()) {
                field.field_name = name;
            }
            Ok(field)
        })
        .collect()
}

/// The "Integration Details": what Talkdesk must know about the integration.
///
/// Field names are exactly Talkdesk's. An absent endpoint switches that feature off. Every
/// field reads with a default so that [`Manifest::new`] can report all missing fields at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationDetails {
    /// System name, unique at Talkdesk, e.g. `mycrm`; every action's `provider`.
    #[serde(default)]
    pub name: String,
    /// Name shown in Talkdesk's interface.
    #[serde(default)]
    pub display_name: String,
    /// User-facing description of the bridged service.
    #[serde(default)]
    pub description: String,
    /// Logo shown on the configuration screen (absolute https URL).
    #[serde(default)]
    pub logo_url: String,
    /// Icon shown next to retrieved interactions (absolute https URL).
    #[serde(default)]
    pub icon_url: String,
    /// How the account holder authenticates.
    #[serde(default = "missing_authentication_type")]
    pub authentication_type: AuthenticationType,
    /// The credential fields; mandatory (non-empty) for `custom`.
    #[serde(default, deserialize_with = "deserialize_auth_fields", skip_serializing_if = "Vec::is_empty")]
    pub authentication_configuration: Vec<AuthField>,
    /// Bridge URL that validates credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_validation_endpoint: Option<String>,
    /// Bridge URL that serves contact synchronization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_synchronization_endpoint: Option<String>,
    /// Bridge URL that serves a contact's interactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_retrieval_endpoint: Option<String>,
    /// Bridge URL that serves agent synchronization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_synchronization_endpoint: Option<String>,
    /// Interaction types the bridge can retrieve, e.g. `["ticket"]`.
    #[serde(default)]
    pub interaction_types: Vec<String>,
}

/// One input of an action: a key in the executor's `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionInput {
    /// The key in `data`.
    #[serde(default)]
    pub key: String,
    /// The label shown to the user.
    #[serde(default)]
    pub name: String,
    /// The input type (missing reads as `text`, as in Talkdesk's legacy examples).
    #[serde(rename = "type", default = "default_input_type")]
    pub input_type: InputType,
    /// For `select`: the comma-separated options; for `datetime`: the moment.js-like format;
    /// for text: an optional `{{contact.*}}` template that pre-fills the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Whether Talkdesk refuses to run the action without a value.
    #[serde(default)]
    pub mandatory: bool,
}

impl ActionInput {
    /// An optional text input.
    pub fn text(key: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            input_type: InputType::Text,
            format: None,
            mandatory: false,
        }
    }

    /// An optional select input with these options (written comma-separated in `format`).
    pub fn select<S: AsRef<str>>(key: impl Into<String>, name: impl Into<String>, options: &[S]) -> Self {
        let options: Vec<&str> = options.iter().map(AsRef::as_ref).collect();
        Self {
            key: key.into(),
            name: name.into(),
            input_type: InputType::Select,
            format: Some(options.join(",")),
            mandatory: false,
        }
    }

    /// An optional datetime input in this moment.js-like format (see [`DateTimeFormat`]).
    pub fn datetime(key: impl Into<String>, name: impl Into<String>, format: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            input_type: InputType::Datetime,
            format: Some(format.into()),
            mandatory: false,
        }
    }

    /// Mark the input mandatory.
    pub fn mandatory(mut self) -> Self {
        self.mandatory = true;
        self
    }

    /// Set `format` (a `{{contact.*}}` template for text inputs).
    pub fn with_format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }

    /// For a select input, its options (trimmed, in order); empty for other types.
    pub fn select_options(&self) -> Vec<&str> {
        match (&self.input_type, &self.format) {
            (InputType::Select, Some(format)) => format.split(',').map(str::trim).collect(),
            _ => Vec::new(),
        }
    }
}

/// The "Action Details" of one action Talkdesk can execute through the bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDefinition {
    /// The integration `name` that provides the action.
    #[serde(default)]
    pub provider: String,
    /// Unique action id, e.g. `create_ticket`.
    #[serde(default)]
    pub name: String,
    /// Short lower-case label, e.g. "create a ticket".
    #[serde(default)]
    pub display: String,
    /// Lower-case description shown to users.
    #[serde(default)]
    pub description: String,
    /// Bridge URL that executes the action (absolute https URL).
    #[serde(default)]
    pub endpoint: String,
    /// The inputs Talkdesk sends in `data`.
    #[serde(default)]
    pub inputs: Vec<ActionInput>,
}

impl ActionDefinition {
    /// An action without inputs yet.
    pub fn new(
        provider: impl Into<String>,
        name: impl Into<String>,
        display: impl Into<String>,
        description: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Self {
        Self {
            provider: provider.into(),
            name: name.into(),
            display: display.into(),
            description: description.into(),
            endpoint: endpoint.into(),
            inputs: Vec::new(),
        }
    }

    /// Add an input.
    pub fn input(mut self, input: ActionInput) -> Self {
        self.inputs.push(input);
        self
    }

    /// Check the `data` of an execution request against the inputs and return the accepted
    /// values by input key.
    ///
    /// Rules: a JSON string, number or boolean is read as text; `null`, an absent key and an
    /// empty (or blank) string all mean "no value"; a mandatory input without a value, a
    /// select value that is not one of the options (compared exactly, after trimming
    /// whitespace), and a datetime that does not match its format (RFC 3339 when the input
    /// has no format) are errors, as are arrays and objects. Every problem is reported, each
    /// naming its input key. Keys of `data` that are not inputs of the action are dropped.
    pub fn validate_data(
        &self,
        data: &serde_json::Map<String, Value>,
    ) -> Result<ActionData, InvalidActionData> {
        let mut accepted = ActionData::new();
        let mut problems = Vec::new();
        for input in &self.inputs {
            let mut problem =
                |message: String| problems.push(InputProblem { key: input.key.clone(), message });
            let text = match data.get(&input.key) {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(text.clone()),
                Some(Value::Number(number)) => Some(number.to_string()),
                Some(Value::Bool(flag)) => Some(flag.to_string()),
                Some(Value::Array(_) | Value::Object(_)) => {
                    problem("must be a single value, not a JSON array or object".to_owned());
                    continue;
                }
            };
            let Some(text) = text.filter(|text| !text.trim().is_empty()) else {
                if input.mandatory {
                    problem("mandatory input is missing".to_owned());
                }
                continue;
            };
            match &input.input_type {
                InputType::Select => {
                    let options = input.select_options();
                    let Some(option) = options.iter().find(|option| **option == text.trim()) else {
                        problem(format!("`{text}` is not one of the options {}", options.join(", ")));
                        continue;
                    };
                    accepted.insert(input.key.clone(), (*option).to_owned());
                    continue;
                }
                InputType::Datetime => {
                    if let Err(why) = check_datetime(input.format.as_deref(), &text) {
                        problem(why);
                        continue;
                    }
                }
                _ => {}
            }
            accepted.insert(input.key.clone(), text);
        }
        if problems.is_empty() { Ok(accepted) } else { Err(InvalidActionData { problems }) }
    }
}

fn check_datetime(format: Option<&str>, value: &str) -> Result<(), String> {
    match format.filter(|format| !format.trim().is_empty()) {
        Some(format) => {
            let compiled = DateTimeFormat::parse(format)?;
            compiled.check(value).map_err(|why| format!("`{value}` does not match `{format}`: {why}"))
        }
        None => chrono::DateTime::parse_from_rfc3339(value)
            .map(|_| ())
            .map_err(|why| format!("`{value}` is not an RFC 3339 datetime: {why}")),
    }
}

/// Accepted action inputs: input key → value as text.
pub type ActionData = BTreeMap<String, String>;

/// One problem with one action input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputProblem {
    /// The input key (the key in `data`).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

/// The inputs of an execution request do not satisfy the action's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidActionData {
    /// Every problem found, in input order.
    pub problems: Vec<InputProblem>,
}

impl std::fmt::Display for InvalidActionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: Vec<String> = self
            .problems
            .iter()
            .map(|problem| format!("data.{}: {}", problem.key, problem.message))
            .collect();
        f.write_str(&text.join("; "))
    }
}

impl std::error::Error for InvalidActionData {}

impl From<InvalidActionData> for crate::Error {
    fn from(error: InvalidActionData) -> Self {
        crate::Error::invalid("talkdesk action data", error.to_string())
    }
}

/// One problem in a manifest, naming the field (e.g. `actions[0].inputs[2].format`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestProblem {
    /// Path of the offending field.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A manifest failed validation; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestError {
    /// The problems, in document order.
    pub problems: Vec<ManifestProblem>,
}

impl ManifestError {
    /// True when some problem concerns exactly this field path.
    pub fn mentions(&self, field: &str) -> bool {
        self.problems.iter().any(|problem| problem.field == field)
    }
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        write!(f, "invalid Talkdesk manifest: {}", text.join("; "))
    }
}

impl std::error::Error for ManifestError {}

impl From<ManifestError> for crate::Error {
    fn from(error: ManifestError) -> Self {
        let text: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
        crate::Error::invalid("talkdesk manifest", text.join("; "))
    }
}

/// The JSON shape of a [`Manifest`]: the integration fields at the top level (Talkdesk's
/// names) and the action manifests under `actions`. Read it, then turn it into a validated
/// [`Manifest`] with [`Manifest::try_from`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDocument {
    /// The integration details.
    #[serde(flatten)]
    pub integration: IntegrationDetails,
    /// The action manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionDefinition>,
}

/// A validated Talkdesk integration: its details and its actions.
///
/// A `Manifest` can exist only validated (through [`ManifestBuilder::build`],
/// [`Manifest::new`], [`Manifest::from_json`] or deserialization), so the router can rely on
/// it: mandatory fields are present; action names, input keys within an action and
/// authentication field names are unique; every action's `provider` equals the integration
/// `name`; select inputs have options; datetime formats are understood; every URL is an
/// absolute https URL; and no two endpoints share a path (the router tells endpoints apart by
/// path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ManifestDocument", into = "ManifestDocument")]
pub struct Manifest {
    integration: IntegrationDetails,
    actions: Vec<ActionDefinition>,
}

impl TryFrom<ManifestDocument> for Manifest {
    type Error = ManifestError;

    fn try_from(document: ManifestDocument) -> Result<Self, Self::Error> {
        Self::new(document.integration, document.actions)
    }
}

impl From<Manifest> for ManifestDocument {
    fn from(manifest: Manifest) -> Self {
        Self { integration: manifest.integration, actions: manifest.actions }
    }
}

impl Manifest {
    /// Validate and assemble a manifest; the error lists every problem.
    pub fn new(
        integration: IntegrationDetails,
        actions: Vec<ActionDefinition>,
    ) -> Result<Self, ManifestError> {
        let problems = validate(&integration, &actions);
        if problems.is_empty() { Ok(Self { integration, actions }) } else { Err(ManifestError { problems }) }
    }

    /// Start a [`ManifestBuilder`].
    pub fn builder() -> ManifestBuilder {
        ManifestBuilder::default()
    }

    /// Read and validate a manifest from JSON (the shape of [`ManifestDocument`]).
    pub fn from_json(json: &str) -> crate::Result<Self> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let document: ManifestDocument = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| crate::Error::invalid("talkdesk manifest", error.to_string()))?;
        Ok(Self::try_from(document)?)
    }

    /// The manifest as pretty-printed JSON with Talkdesk's field names.
    pub fn to_json_pretty(&self) -> crate::Result<String> {
        serde_json::to_string_pretty(&ManifestDocument::from(self.clone()))
            .map_err(|error| crate::Error::invalid("talkdesk manifest", error.to_string()))
    }

    /// The integration details.
    pub fn integration(&self) -> &IntegrationDetails {
        &self.integration
    }

    /// The actions, in manifest order.
    pub fn actions(&self) -> &[ActionDefinition] {
        &self.actions
    }

    /// The action with this name.
    pub fn action(&self, name: &str) -> Option<&ActionDefinition> {
        self.actions.iter().find(|action| action.name == name)
    }

    /// The example integration of Talkdesk's documentation: `mycrm` with `account` and
    /// `token` credential fields and a `create_ticket` action with the inputs `description`
    /// (text), `firstName` (text, `{{contact.first_name}}`, mandatory), `state` (select,
    /// `AL,AK,AZ,AR,CA,CO,CT,DE,FL`, mandatory) and `meetingDate` (datetime,
    /// `YYYY-MM-DDTHH:mm:ssZ`).
    ///
    /// The endpoints are placed under `base` (which must be an absolute https URL):
    /// `auth_validation`, `contact_sync`, `interaction_update`, `agent_sync` and
    /// `actions/create_ticket`.
    pub fn example_mycrm(base: &Url) -> Result<Self, ManifestError> {
        let endpoint = |segments: &[&str]| endpoint_under(base, segments);
        let mut builder = Manifest::builder()
            .name("mycrm")
            .display_name("MyCRM")
            .description(
                "Centralizing all the customer conversations so nothing gets ignored and everything is \
                 searchable from one place.\nEasily organizing, prioritizing and engaging with others on \
                 support requests.",
            )
            .logo_url("https://talkdeskapp.s3.amazonaws.com/assets/integrations/mycrm.png")
            .icon_url("https://talkdeskapp.s3.amazonaws.com/assets/integrations/mycrm_icon.png")
            .authentication_type(AuthenticationType::Custom)
            .auth_field(
                AuthField::input("account", "Account")
                    .help("Find under Settings > Account")
                    .format("https://{{account}}.example.org"),
            )
            .auth_field(AuthField::input("token", "API Token"))
            .interaction_types(["ticket", "case"]);
        builder.integration.auth_validation_endpoint = Some(endpoint(&["auth_validation"]));
        builder.integration.contact_synchronization_endpoint = Some(endpoint(&["contact_sync"]));
        builder.integration.interaction_retrieval_endpoint = Some(endpoint(&["interaction_update"]));
        builder.integration.agent_synchronization_endpoint = Some(endpoint(&["agent_sync"]));
        builder
            .action(
                ActionDefinition::new(
                    "mycrm",
                    "create_ticket",
                    "create a ticket",
                    "create a new ticket in mycrm",
                    endpoint(&["actions", "create_ticket"]),
                )
                .input(ActionInput::text("description", "Description"))
                .input(
                    ActionInput::text("firstName", "First name")
                        .with_format("{{contact.first_name}}")
                        .mandatory(),
                )
                .input(
                    ActionInput::select(
                        "state",
                        "State",
                        &["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL"],
                    )
                    .mandatory(),
                )
                .input(ActionInput::datetime(
                    "meetingDate",
                    "Meeting date",
                    "YYYY-MM-DDTHH:mm:ssZ",
                )),
            )
            .build()
    }
}

/// `base` with these path segments appended (query and fragment dropped). A base that cannot
/// carry a path yields its own text, which validation then reports.
fn endpoint_under(base: &Url, segments: &[&str]) -> String {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    match url.path_segments_mut() {
        Ok(mut path) => {
            path.pop_if_empty().extend(segments);
        }
        Err(()) => return base.to_string(),
    }
    url.to_string()
}

/// Builds a [`Manifest`] field by field; [`ManifestBuilder::build`] validates everything at
/// once.
#[derive(Debug, Clone)]
pub struct ManifestBuilder {
    integration: IntegrationDetails,
    actions: Vec<ActionDefinition>,
}

impl Default for ManifestBuilder {
    fn default() -> Self {
        Self {
            integration: IntegrationDetails {
                name: String::new(),
                display_name: String::new(),
                description: String::new(),
                logo_url: String::new(),
                icon_url: String::new(),
                authentication_type: missing_authentication_type(),
                authentication_configuration: Vec::new(),
                auth_validation_endpoint: None,
                contact_synchronization_endpoint: None,
                interaction_retrieval_endpoint: None,
                agent_synchronization_endpoint: None,
                interaction_types: Vec::new(),
            },
            actions: Vec::new(),
        }
    }
}

impl ManifestBuilder {
    /// Set `name` (the system name, also every action's `provider`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.integration.name = name.into();
        self
    }

    /// Set `display_name`.
    pub fn display_name(mut self, display_name: impl Into<String>) -> Self {
        self.integration.display_name = display_name.into();
        self
    }

    /// Set `description`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.integration.description = description.into();
        self
    }

    /// Set `logo_url`.
    pub fn logo_url(mut self, url: impl Into<String>) -> Self {
        self.integration.logo_url = url.into();
        self
    }

    /// Set `icon_url`.
    pub fn icon_url(mut self, url: impl Into<String>) -> Self {
        self.integration.icon_url = url.into();
        self
    }

    /// Set `authentication_type`.
    pub fn authentication_type(mut self, kind: AuthenticationType) -> Self {
        self.integration.authentication_type = kind;
        self
    }

    /// Add a field to `authentication_configuration`.
    pub fn auth_field(mut self, field: AuthField) -> Self {
        self.integration.authentication_configuration.push(field);
        self
    }

    /// Set `auth_validation_endpoint`.
    pub fn auth_validation_endpoint(mut self, url: impl Into<String>) -> Self {
        self.integration.auth_validation_endpoint = Some(url.into());
        self
    }

    /// Set `contact_synchronization_endpoint`.
    pub fn contact_synchronization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.integration.contact_synchronization_endpoint = Some(url.into());
        self
    }

    /// Set `interaction_retrieval_endpoint`.
    pub fn interaction_retrieval_endpoint(mut self, url: impl Into<String>) -> Self {
        self.integration.interaction_retrieval_endpoint = Some(url.into());
        self
    }

    /// Set `agent_synchronization_endpoint`.
    pub fn agent_synchronization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.integration.agent_synchronization_endpoint = Some(url.into());
        self
    }

    /// Set `interaction_types`.
    pub fn interaction_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.integration.interaction_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Add an action.
    pub fn action(mut self, action: ActionDefinition) -> Self {
        self.actions.push(action);
        self
    }

    /// Validate and build; the error lists every problem, each naming its field.
    pub fn build(self) -> Result<Manifest, ManifestError> {
        Manifest::new(self.integration, self.actions)
    }
}

/// Collects problems with field paths.
struct Problems(Vec<ManifestProblem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(ManifestProblem { field: field.into(), message: message.into() });
    }

    fn require(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "is missing");
        }
    }

    /// Check an absolute https URL; return its path when it is one.
    fn https_url(&mut self, field: &str, value: &str) -> Option<String> {
        if value.trim().is_empty() {
            self.add(field, "is missing");
            return None;
        }
        match Url::parse(value) {
            Err(error) => {
                self.add(field, format!("`{value}` is not an absolute URL ({error})"));
                None
            }
            Ok(url) if url.scheme() != "https" => {
                self.add(field, format!("`{value}` must be an https URL"));
                None
            }
            Ok(url) if url.host_str().is_none_or(str::is_empty) => {
                self.add(field, format!("`{value}` has no host"));
                None
            }
            Ok(url) => Some(url.path().to_owned()),
        }
    }
}

fn validate(integration: &IntegrationDetails, actions: &[ActionDefinition]) -> Vec<ManifestProblem> {
    let mut problems = Problems(Vec::new());
    problems.require("name", &integration.name);
    problems.require("display_name", &integration.display_name);
    problems.require("description", &integration.description);
    problems.https_url("logo_url", &integration.logo_url);
    problems.https_url("icon_url", &integration.icon_url);
    match &integration.authentication_type {
        AuthenticationType::Other(text) if text.trim().is_empty() => {
            problems.add("authentication_type", "is missing")
        }
        AuthenticationType::Custom if integration.authentication_configuration.is_empty() => problems.add(
            "authentication_configuration",
            "must list at least one field when authentication_type is `custom`",
        ),
        _ => {}
    }
    let mut field_names: HashMap<&str, usize> = HashMap::new();
    for (index, field) in integration.authentication_configuration.iter().enumerate() {
        let prefix = format!("authentication_configuration[{index}]");
        problems.require(&format!("{prefix}.field_name"), &field.field_name);
        problems.require(&format!("{prefix}.display"), &field.display);
        if field.field_name.trim().is_empty() {
            continue;
        }
        if let Some(first) = field_names.insert(field.field_name.as_str(), index) {
            problems.add(
                format!("{prefix}.field_name"),
                format!("`{}` is already used by authentication_configuration[{first}]", field.field_name),
            );
        }
    }

    // Endpoint paths must be distinct: the router tells endpoints apart by path.
    let mut paths: HashMap<String, String> = HashMap::new();
    let mut claim_path = |problems: &mut Problems, field: String, path: Option<String>| {
        let Some(path) = path else { return };
        if let Some(owner) = paths.get(&path) {
            problems.add(field, format!("path `{path}` is already served by {owner}"));
        } else {
            paths.insert(path, field);
        }
    };
    let endpoints = [
        ("auth_validation_endpoint", &integration.auth_validation_endpoint),
        ("contact_synchronization_endpoint", &integration.contact_synchronization_endpoint),
        ("interaction_retrieval_endpoint", &integration.interaction_retrieval_endpoint),
        ("agent_synchronization_endpoint", &integration.agent_synchronization_endpoint),
    ];
    for (field, value) in endpoints {
        if let Some(value) = value {
            let path = problems.https_url(field, value);
            claim_path(&mut problems, field.to_owned(), path);
        }
    }
    if integration.interaction_retrieval_endpoint.is_some() && integration.interaction_types.is_empty() {
        problems.add(
            "interaction_types",
            "must list at least one type when interaction_retrieval_endpoint is set",
        );
    }
    let mut seen_types: HashMap<&str, usize> = HashMap::new();
    for (index, kind) in integration.interaction_types.iter().enumerate() {
        let field = format!("interaction_types[{index}]");
        if kind.trim().is_empty() {
            problems.add(field, "is empty");
        } else if let Some(first) = seen_types.insert(kind.as_str(), index) {
            problems.add(field, format!("`{kind}` is already listed at interaction_types[{first}]"));
        }
    }

    let mut action_names: HashMap<&str, usize> = HashMap::new();
    for (index, action) in actions.iter().enumerate() {
        let prefix = format!("actions[{index}]");
        problems.require(&format!("{prefix}.provider"), &action.provider);
        if !action.provider.trim().is_empty() && action.provider != integration.name {
            problems.add(
                format!("{prefix}.provider"),
                format!("`{}` must equal the integration name `{}`", action.provider, integration.name),
            );
        }
        problems.require(&format!("{prefix}.name"), &action.name);
        if !action.name.trim().is_empty() {
            if let Some(first) = action_names.insert(action.name.as_str(), index) {
                problems.add(
                    format!("{prefix}.name"),
                    format!("`{}` is already used by actions[{first}]", action.name),
                );
            }
        }
        problems.require(&format!("{prefix}.display"), &action.display);
        problems.require(&format!("{prefix}.description"), &action.description);
        let path = problems.https_url(&format!("{prefix}.endpoint"), &action.endpoint);
        claim_path(&mut problems, format!("{prefix}.endpoint"), path);
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for (input_index, input) in action.inputs.iter().enumerate() {
            let input_prefix = format!("{prefix}.inputs[{input_index}]");
            problems.require(&format!("{input_prefix}.key"), &input.key);
            problems.require(&format!("{input_prefix}.name"), &input.name);
            if !input.key.trim().is_empty() {
                if let Some(first) = keys.insert(input.key.as_str(), input_index) {
                    problems.add(
                        format!("{input_prefix}.key"),
                        format!("`{}` is already used by {prefix}.inputs[{first}]", input.key),
                    );
                }
            }
            validate_input_format(&mut problems, &format!("{input_prefix}.format"), input);
        }
    }
    problems.0
}

fn validate_input_format(problems: &mut Problems, field: &str, input: &ActionInput) {
    match &input.input_type {
        InputType::Select => {
            let format = input.format.as_deref().unwrap_or("");
            if format.trim().is_empty() {
                problems.add(field, "select options are empty");
                return;
            }
            let options = input.select_options();
            if options.iter().any(|option| option.is_empty()) {
                problems.add(field, format!("`{format}` has an empty select option"));
            }
            let mut seen: HashMap<&str, ()> = HashMap::new();
            for option in options.iter().filter(|option| !option.is_empty()) {
                if seen.insert(option, ()).is_some() {
                    problems.add(field, format!("select option `{option}` is listed twice"));
                }
            }
        }
        InputType::Datetime => {
            if let Some(format) = input.format.as_deref().filter(|format| !format.trim().is_empty()) {
                if let Err(why) = DateTimeFormat::parse(format) {
                    problems.add(field, why);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_authentication_fields_are_read() {
        let json = r#"[{"account": {"source": "input", "display": "Account", "mandatory": true,
                        "type": "input", "store": true}},
                      {"field_name": "token", "display": "API Token", "mandatory": true}]"#;
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let fields = deserialize_auth_fields(&mut deserializer).unwrap();
        assert_eq!(fields[0].field_name, "account");
        assert_eq!(fields[0].source.as_deref(), Some("input"));
        assert_eq!(fields[1].field_name, "token");
        assert!(fields[1].store);
    }

    #[test]
    fn data_validation_reports_every_input() {
        let base = Url::parse("https://bridge.example.com/talkdesk/").unwrap();
        let manifest = Manifest::example_mycrm(&base).unwrap();
        let action = manifest.action("create_ticket").unwrap();
        let data = serde_json::json!({"state": "TX", "meetingDate": "tomorrow", "extra": 1});
        let error = action.validate_data(data.as_object().unwrap()).unwrap_err();
        let keys: Vec<&str> = error.problems.iter().map(|problem| problem.key.as_str()).collect();
        assert_eq!(keys, ["firstName", "state", "meetingDate"]);
        let data = serde_json::json!({"firstName": "Ana", "state": " CA", "description": "", "extra": 1});
        let accepted = action.validate_data(data.as_object().unwrap()).unwrap();
        assert_eq!(accepted.len(), 2);
        assert_eq!(accepted["state"], "CA");
    }
}
