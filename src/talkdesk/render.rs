//! The Markdown document Talkdesk asks to be attached to the "Activate Custom Integration"
//! support ticket: an "Integration Details" table and an "Action Details" table per action,
//! in the "Field | Value" layout of Talkdesk's template.

use std::fmt::Write as _;

use super::manifest::{ActionDefinition, AuthField, Manifest};

impl Manifest {
    /// Render the activation document as Markdown (GitHub-flavoured tables).
    ///
    /// The "Integration Details" table lists every integration field (credential fields one
    /// per block, their attributes on separate lines, as in Talkdesk's template); each action
    /// gets its own "Action Details" table with its inputs listed the same way. Absent
    /// optional endpoints are shown as "not provided" (the feature is switched off). Pipes are
    /// escaped and line breaks become `<br>`, so any text stays inside its cell.
    pub fn to_markdown(&self) -> String {
        let details = self.integration();
        let mut out = String::new();
        let _ = writeln!(out, "# {}: Talkdesk custom integration\n", cell(&details.display_name));
        out.push_str("## Integration Details\n\n| Field | Value |\n|---|---|\n");
        let mut row = |field: &str, value: String| {
            let _ = writeln!(out, "| {field} | {value} |");
        };
        row("name", cell(&details.name));
        row("display_name", cell(&details.display_name));
        row("description", cell(&details.description));
        row("logo_url", cell(&details.logo_url));
        row("icon_url", cell(&details.icon_url));
        row("authentication_type", cell(details.authentication_type.as_str()));
        let fields: Vec<String> = details.authentication_configuration.iter().map(auth_field_block).collect();
        row(
            "authentication_configuration",
            if fields.is_empty() { "none".to_owned() } else { fields.join("<br><br>") },
        );
        let endpoint =
            |value: &Option<String>| value.as_deref().map_or_else(|| "not provided".to_owned(), cell);
        row("auth_validation_endpoint", endpoint(&details.auth_validation_endpoint));
        row("contact_synchronization_endpoint", endpoint(&details.contact_synchronization_endpoint));
        row("interaction_retrieval_endpoint", endpoint(&details.interaction_retrieval_endpoint));
        row("agent_synchronization_endpoint", endpoint(&details.agent_synchronization_endpoint));
        row(
            "interaction_types",
            if details.interaction_types.is_empty() {
                "none".to_owned()
            } else {
                cell(&details.interaction_types.join(", "))
            },
        );
        for action in self.actions() {
            out.push('\n');
            render_action(&mut out, action);
        }
        out
    }
}

fn render_action(out: &mut String, action: &ActionDefinition) {
    let _ = writeln!(out, "## Action Details: {}\n\n| Field | Value |\n|---|---|", cell(&action.name));
    let mut row = |field: &str, value: String| {
        let _ = writeln!(out, "| {field} | {value} |");
    };
    row("provider", cell(&action.provider));
    row("name", cell(&action.name));
    row("display", cell(&action.display));
    row("description", cell(&action.description));
    row("endpoint", cell(&action.endpoint));
    let inputs: Vec<String> = action
        .inputs
        .iter()
        .map(|input| {
            let mut lines = vec![
                format!("**{}**", cell(&input.key)),
                format!("key: {}", cell(&input.key)),
                format!("name: {}", cell(&input.name)),
                format!("type: {}", cell(input.input_type.as_str())),
            ];
            if let Some(format) = &input.format {
                lines.push(format!("format: {}", cell(format)));
            }
            lines.push(format!("mandatory: {}", input.mandatory));
            lines.join("<br>")
        })
        .collect();
    row("inputs", if inputs.is_empty() { "none".to_owned() } else { inputs.join("<br><br>") });
}

fn auth_field_block(field: &AuthField) -> String {
    let mut lines = vec![
        format!("**{}**", cell(&field.field_name)),
        format!("field_name: {}", cell(&field.field_name)),
        format!("display: {}", cell(&field.display)),
        format!("mandatory: {}", field.mandatory),
        format!("type: {}", cell(field.field_type.as_str())),
        format!("store: {}", field.store),
    ];
    if let Some(help) = &field.help {
        lines.push(format!("help: {}", cell(help)));
    }
    if let Some(format) = &field.format {
        lines.push(format!("format: {}", cell(format)));
    }
    if let Some(source) = &field.source {
        lines.push(format!("source: {}", cell(source)));
    }
    lines.join("<br>")
}

/// Text made safe for one table cell: pipes escaped, line breaks as `<br>`.
fn cell(text: &str) -> String {
    text.trim().replace('|', "\\|").replace("\r\n", "\n").replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_stay_on_one_line() {
        assert_eq!(cell("a | b\nc"), "a \\| b<br>c");
    }
}
