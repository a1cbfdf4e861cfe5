//! A small OpenAPI 3 request validator for conformance tests.
//!
//! It checks a recorded request (method, path, query pairs, JSON body) against the
//! operation the document declares for it:
//!
//! - the operation is found by method and path template (`/2/users/{id}/mentions`); the
//!   template with the most literal segments wins;
//! - every query parameter is declared for the operation (path-level parameters
//!   included); required ones are present; values match their schema: arrays with
//!   `explode: false` are comma-separated and each item is checked (enum, pattern, …),
//!   integers are parsed and bounded, strings checked for enum, pattern and length;
//! - path parameters match their schema (pattern, length);
//! - the JSON body is present when required and matches the schema with a JSON-schema
//!   subset: `$ref` (local), `allOf`, `anyOf`, `oneOf`, `type`, `enum`, `required`,
//!   `properties`, `additionalProperties` (false or a schema), `items`, `minItems`,
//!   `maxItems`, `pattern`, `minLength`, `maxLength`, `minimum`, `maximum`.
//!
//! The document is handed over as a `serde_json::Value` ([`OpenApi::from_value`]), so a
//! YAML document works the same once parsed (e.g. `serde_yaml::from_str::<Value>`).

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};

/// A request as the server saw it.
#[derive(Debug, Clone, Default)]
pub struct RecordedRequest {
    /// HTTP method, any case.
    pub method: String,
    /// Path as sent (percent-encoding allowed), without the query.
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, when one was sent.
    pub body: Option<Value>,
}

impl RecordedRequest {
    /// A request with no query and no body.
    pub fn new(method: &str, path: &str) -> Self {
        Self { method: method.to_owned(), path: path.to_owned(), ..Self::default() }
    }

    /// Add a query pair.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Set the JSON body.
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

impl From<&deskbridge::sim::SimRequest> for RecordedRequest {
    /// A request as a simulator recorded it: method, path, query pairs, JSON body.
    fn from(request: &deskbridge::sim::SimRequest) -> Self {
        Self {
            method: request.method.to_string(),
            path: request.path.clone(),
            query: request.query_pairs(),
            body: request.body_json(),
        }
    }
}

/// Zendesk's Support OpenAPI document (vendored), accepting its generic cursor-pagination
/// parameters on every operation.
pub fn zendesk_support() -> OpenApi {
    let path = super::specs::spec_path("zendesk-support.oas.yaml");
    OpenApi::load_yaml(&path).unwrap_or_else(|e| panic!("{e}")).with_generic_query(&[
        "page[size]",
        "page[after]",
        "page[before]",
    ])
}

/// Path parameter names and their decoded values, taken from a request path.
type PathValues = Vec<(String, String)>;

/// A loaded OpenAPI document.
pub struct OpenApi {
    doc: Value,
    /// Query parameters accepted on every operation although no operation declares them
    /// (e.g. Zendesk's generic cursor-pagination parameters).
    generic_query: Vec<String>,
}

impl OpenApi {
    /// A validator over an already parsed document (JSON, or YAML parsed into a `Value`).
    pub fn from_value(doc: Value) -> Self {
        Self { doc, generic_query: Vec::new() }
    }

    /// Accept these query parameters on every operation (documented by the vendor for all
    /// list endpoints, but absent from the per-operation parameter lists).
    #[allow(dead_code)]
    pub fn with_generic_query(mut self, names: &[&str]) -> Self {
        self.generic_query = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// Read and parse a YAML document. A missing or unreadable file is an error naming it.
    #[allow(dead_code)]
    pub fn load_yaml(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read OpenAPI document {}: {e}", path.display()))?;
        let doc: Value = serde_yaml::from_str(&text)
            .map_err(|e| format!("OpenAPI document {} is not YAML: {e}", path.display()))?;
        Ok(Self::from_value(doc))
    }

    /// Read and parse a JSON document. A missing or unreadable file is an error naming it.
    pub fn load_json(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read OpenAPI document {}: {e}", path.display()))?;
        let doc = serde_json::from_str(&text)
            .map_err(|e| format!("OpenAPI document {} is not JSON: {e}", path.display()))?;
        Ok(Self::from_value(doc))
    }

    /// The document's `info.version`.
    pub fn version(&self) -> Option<&str> {
        self.doc.pointer("/info/version").and_then(Value::as_str)
    }

    /// Resolve a local `$ref` (`#/components/...`), following chains.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = reference
                        .strip_prefix('#')
                        .ok_or_else(|| format!("only local $refs are supported, got {reference}"))?;
                    value =
                        self.doc.pointer(pointer).ok_or_else(|| format!("unresolvable $ref {reference}"))?;
                }
                None => return Ok(value),
            }
        }
        Err("$ref chain too long".into())
    }

    /// Find the operation for `method` and `path`: its path template, the operation and
    /// the path parameters taken from the path.
    fn find_operation(&self, method: &str, path: &str) -> Result<(String, &Value, PathValues), String> {
        let paths = self.doc.get("paths").and_then(Value::as_object).ok_or("document has no paths")?;
        let method = method.to_ascii_lowercase();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<(usize, &String, PathValues)> = None;
        for (template, item) in paths {
            if item.get(&method).is_none() {
                continue;
            }
            let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literals = 0;
            let mut captured = Vec::new();
            let matched = parts.iter().zip(&segments).all(|(part, segment)| {
                if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    captured.push((name.to_owned(), percent_decode(segment)));
                    true
                } else {
                    literals += 1;
                    part == segment
                }
            });
            if matched && best.as_ref().is_none_or(|(l, _, _)| literals > *l) {
                best = Some((literals, template, captured));
            }
        }
        let (_, template, captured) =
            best.ok_or_else(|| format!("no operation {} {path} in the document", method.to_uppercase()))?;
        let operation = &paths[template.as_str()][&method];
        Ok((template.clone(), operation, captured))
    }

    /// Validate a request; `Ok` names the matched operation (`GET /2/dm_events`), `Err`
    /// lists every problem found.
    pub fn validate(&self, request: &RecordedRequest) -> Result<String, Vec<String>> {
        let (template, operation, path_values) =
            self.find_operation(&request.method, &request.path).map_err(|e| vec![e])?;
        let name = format!("{} {template}", request.method.to_uppercase());
        let mut errors = Vec::new();
        let path_item = &self.doc["paths"][template.as_str()];
        let mut parameters = Vec::new();
        for list in [path_item.get("parameters"), operation.get("parameters")].into_iter().flatten() {
            for parameter in list.as_array().into_iter().flatten() {
                match self.resolve(parameter) {
                    Ok(p) => parameters.push(p),
                    Err(e) => errors.push(e),
                }
            }
        }
        let declared = |location: &str, name: &str| {
            parameters.iter().copied().find(|p| {
                p.get("in").and_then(Value::as_str) == Some(location)
                    && p.get("name").and_then(Value::as_str) == Some(name)
            })
        };

        // Query parameters.
        let mut seen = HashSet::new();
        for (key, value) in &request.query {
            let Some(parameter) = declared("query", key) else {
                if !self.generic_query.iter().any(|g| g == key) {
                    errors.push(format!("{name}: query parameter `{key}` is not declared for the operation"));
                }
                continue;
            };
            // A parameter declared `explode: true` with a scalar schema may repeat
            // (`role[]=agent&role[]=admin`); any other repeat is an error.
            let repeatable = parameter.get("explode").and_then(Value::as_bool) == Some(true);
            if !seen.insert(key.as_str()) && !repeatable {
                errors.push(format!("{name}: query parameter `{key}` repeated"));
            }
            let Some(schema) = parameter.get("schema") else { continue };
            self.check_parameter_value(
                &format!("{name}: query `{key}`"),
                parameter,
                schema,
                value,
                &mut errors,
            );
        }
        for parameter in &parameters {
            let required = parameter.get("required").and_then(Value::as_bool).unwrap_or(false);
            let location = parameter.get("in").and_then(Value::as_str).unwrap_or_default();
            let pname = parameter.get("name").and_then(Value::as_str).unwrap_or_default();
            if required && location == "query" && !request.query.iter().any(|(k, _)| k == pname) {
                errors.push(format!("{name}: required query parameter `{pname}` is missing"));
            }
        }

        // Path parameters.
        for (pname, value) in &path_values {
            match declared("path", pname) {
                None => errors.push(format!("{name}: path parameter `{pname}` is not declared")),
                Some(parameter) => {
                    if let Some(schema) = parameter.get("schema") {
                        self.check_parameter_value(
                            &format!("{name}: path `{pname}`"),
                            parameter,
                            schema,
                            value,
                            &mut errors,
                        );
                    }
                }
            }
        }

        // Body.
        if let Some(request_body) = operation.get("requestBody") {
            match self.resolve(request_body) {
                Err(e) => errors.push(e),
                Ok(request_body) => {
                    let required = request_body.get("required").and_then(Value::as_bool).unwrap_or(false);
                    let schema = request_body.pointer("/content/application~1json/schema");
                    match (&request.body, schema) {
                        (None, _) if required => errors.push(format!("{name}: a JSON body is required")),
                        (Some(body), Some(schema)) => {
                            self.check_schema(&format!("{name}: body"), schema, body, &mut errors)
                        }
                        (Some(_), None) => errors.push(format!("{name}: the operation takes no JSON body")),
                        _ => {}
                    }
                }
            }
        } else if request.body.is_some() {
            errors.push(format!("{name}: the operation declares no request body"));
        }

        if errors.is_empty() { Ok(name) } else { Err(errors) }
    }

    fn check_parameter_value(
        &self,
        at: &str,
        parameter: &Value,
        schema: &Value,
        raw: &str,
        errors: &mut Vec<String>,
    ) {
        let schema = match self.resolve(schema) {
            Ok(s) => s,
            Err(e) => return errors.push(e),
        };
        if schema.get("type").and_then(Value::as_str) == Some("array") {
            let explode = parameter.get("explode").and_then(Value::as_bool).unwrap_or(true);
            if explode {
                errors.push(format!("{at}: exploded array parameters are not supported by this validator"));
                return;
            }
            let items: Vec<Value> = raw.split(',').map(|s| Value::String(s.to_owned())).collect();
            if schema.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
                let mut unique = HashSet::new();
                for item in &items {
                    if !unique.insert(item.to_string()) {
                        errors.push(format!("{at}: value {item} repeated"));
                    }
                }
            }
            self.check_schema(at, schema, &Value::Array(items), errors);
        } else {
            let typed = coerce(schema, raw);
            self.check_schema(at, schema, &typed, errors);
        }
    }

    /// Check `value` against `schema` (the subset in the module docs).
    pub fn check_schema(&self, at: &str, schema: &Value, value: &Value, errors: &mut Vec<String>) {
        let schema = match self.resolve(schema) {
            Ok(s) => s,
            Err(e) => return errors.push(format!("{at}: {e}")),
        };
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for part in all {
                self.check_schema(at, part, value, errors);
            }
        }
        for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
            if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
                let mut failures = Vec::new();
                let passing = options
                    .iter()
                    .filter(|option| {
                        let mut sub = Vec::new();
                        self.check_schema(at, option, value, &mut sub);
                        let ok = sub.is_empty();
                        failures.extend(sub);
                        ok
                    })
                    .count();
                if passing == 0 || (exactly_one && passing > 1) {
                    errors.push(format!(
                        "{at}: matches {passing} of the {keyword} alternatives ({})",
                        failures.join("; ")
                    ));
                }
            }
        }
        if let Some(kind) = schema.get("type").and_then(Value::as_str) {
            let ok = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "null" => value.is_null(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{at}: expected {kind}, got {value}"));
                return;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{at}: {value} is not one of {}", Value::Array(options.clone())));
            }
        }
        match value {
            Value::String(text) => {
                let length = text.chars().count() as u64;
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                    if length < min {
                        errors.push(format!("{at}: {value} is shorter than {min}"));
                    }
                }
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                    if length > max {
                        errors.push(format!("{at}: {value} is longer than {max}"));
                    }
                }
                if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                    match regex::Regex::new(pattern) {
                        Ok(re) if re.is_match(text) => {}
                        Ok(_) => errors.push(format!("{at}: {value} does not match {pattern}")),
                        Err(e) => errors.push(format!("{at}: unsupported pattern {pattern}: {e}")),
                    }
                }
            }
            Value::Number(number) => {
                if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), number.as_f64())
                {
                    if n < min {
                        errors.push(format!("{at}: {n} is below the minimum {min}"));
                    }
                }
                if let (Some(max), Some(n)) = (schema.get("maximum").and_then(Value::as_f64), number.as_f64())
                {
                    if n > max {
                        errors.push(format!("{at}: {n} is above the maximum {max}"));
                    }
                }
            }
            Value::Array(items) => {
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                    if (items.len() as u64) < min {
                        errors.push(format!("{at}: fewer than {min} items"));
                    }
                }
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                    if items.len() as u64 > max {
                        errors.push(format!("{at}: more than {max} items"));
                    }
                }
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        self.check_schema(&format!("{at}[{index}]"), item_schema, item, errors);
                    }
                }
            }
            Value::Object(object) => self.check_object(at, schema, object, errors),
            _ => {}
        }
    }

    fn check_object(&self, at: &str, schema: &Value, object: &Map<String, Value>, errors: &mut Vec<String>) {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    errors.push(format!("{at}: required property `{name}` is missing"));
                }
            }
        }
        for (key, value) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => self.check_schema(&format!("{at}.{key}"), property, value, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!(
                        "{at}: property `{key}` is not declared (additionalProperties: false)"
                    )),
                    Some(extra @ Value::Object(_)) => {
                        self.check_schema(&format!("{at}.{key}"), extra, value, errors)
                    }
                    _ => {}
                },
            }
        }
    }
}

/// A query or path value as the JSON type its schema declares (integers and booleans
/// parsed; unparsable values stay strings and then fail the type check).
fn coerce(schema: &Value, raw: &str) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => {
            raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(raw.to_owned()))
        }
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(raw.to_owned())),
        Some("boolean") => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(raw.to_owned()),
        },
        _ => Value::String(raw.to_owned()),
    }
}

fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| segment.to_owned())
}
