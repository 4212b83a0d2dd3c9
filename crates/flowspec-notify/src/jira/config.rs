//! The options of `integrations.jira`, validated, and the variables it reads by default.

use super::*;

pub(super) const BASE_URL: SecretVar = SecretVar::setting(
    "base_url",
    "JIRA_BASE_URL",
    "Atlassian domain",
    "https://your-domain.atlassian.net",
);

pub(super) const EMAIL: SecretVar = SecretVar::required(
    "email",
    "JIRA_EMAIL",
    "Atlassian account email",
    "spec-bot@example.com",
);

pub(super) const API_TOKEN: SecretVar = SecretVar::required(
    "api_token",
    "JIRA_API_TOKEN",
    "API token",
    "ATATT3xFfGF0jira-example-token-0123456789abcdef",
);

/// `integrations.jira` options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// The site (default: `JIRA_BASE_URL`). Example: `"https://your-domain.atlassian.net"`.
    pub base_url: Option<String>,
    /// The account email as `${VAR}` (default: `JIRA_EMAIL`). Example: `"${JIRA_EMAIL}"`.
    pub email: Option<String>,
    /// The API token as `${VAR}` (default: `JIRA_API_TOKEN`). Example: `"${JIRA_API_TOKEN}"`.
    pub api_token: Option<String>,
    /// The project key. Example: `"PROJ"`.
    pub project_key: String,
    /// The issue type of new issues (default `Task`). Example: `"Story"`.
    #[serde(default = "default_issue_type")]
    pub issue_type: String,
    /// Transition applied when implementation starts (`implement.started`): its ID or
    /// name. Example: `"21"`.
    #[serde(default, deserialize_with = "id_or_name")]
    pub transition_on_start: Option<String>,
    /// Transition applied when a PR is opened (`pr.created`). Example: `"41"`.
    #[serde(default, deserialize_with = "id_or_name")]
    pub transition_on_review: Option<String>,
    /// Transition applied when the spec is approved (`spec.approved`). Example: `"21"`.
    #[serde(default, deserialize_with = "id_or_name")]
    pub transition_on_approve: Option<String>,
    /// Transition applied when the spec is implemented (`implement.completed`,
    /// `pr.merged`). Example: `"31"`.
    #[serde(default, deserialize_with = "id_or_name")]
    pub transition_on_implement: Option<String>,
    /// Event fields copied into custom fields of new issues: event field (`spec_id`,
    /// `acceptance_criteria`, a dotted path) → custom field ID, or `{field, type}` with
    /// `type` one of `auto` (default), `text`, `adf`, `number`, `option`, `labels`.
    /// Example: `{spec_id: "customfield_10001"}`.
    #[serde(default)]
    pub field_mappings: BTreeMap<String, FieldMapping>,
    /// Labels added to new issues besides `flowspec` and the dedup label.
    /// Example: `["spec"]`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Creates a subtask for each acceptance criterion of the event
    /// (`acceptance_criteria`: a list, or lines of text); missing ones are added when a
    /// later event lists more. Default false. Example: `true`.
    #[serde(default)]
    pub create_subtasks: bool,
    /// The issue type of those subtasks (default `Subtask`; older company-managed
    /// projects call it `Sub-task`). Example: `"Sub-task"`.
    #[serde(default = "default_subtask_type")]
    pub subtask_type: String,
    /// Replaces the site for API calls (a proxy, a mock); links still use `base_url`.
    /// Example: `"http://127.0.0.1:8080"`.
    pub api_url: Option<String>,
}

pub(super) fn default_issue_type() -> String {
    "Task".to_owned()
}

pub(super) fn default_subtask_type() -> String {
    "Subtask".to_owned()
}

/// Where one event field goes: a custom field ID, or `{field, type}`.
#[derive(Clone, Debug)]
pub enum FieldMapping {
    /// The custom field ID; the value is converted as `type: auto`.
    Id(String),
    /// The custom field ID and how to convert the value.
    Typed {
        /// The custom field ID. Example: `"customfield_10002"`.
        field: String,
        /// How the value is sent. Example: `adf`.
        kind: FieldKind,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TypedMapping {
    pub(super) field: String,
    #[serde(default, rename = "type")]
    pub(super) kind: FieldKind,
}

impl<'de> Deserialize<'de> for FieldMapping {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Mapping;
        impl<'de> serde::de::Visitor<'de> for Mapping {
            type Value = FieldMapping;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a custom field ID such as \"customfield_10001\", or `{field: \"customfield_10001\", type: adf}`")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldMapping, E> {
                Ok(FieldMapping::Id(v.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<FieldMapping, A::Error> {
                let t =
                    TypedMapping::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(FieldMapping::Typed {
                    field: t.field,
                    kind: t.kind,
                })
            }
        }
        d.deserialize_any(Mapping)
    }
}

impl FieldMapping {
    pub(super) fn field(&self) -> &str {
        match self {
            FieldMapping::Id(f) | FieldMapping::Typed { field: f, .. } => f,
        }
    }

    pub(super) fn kind(&self) -> FieldKind {
        match self {
            FieldMapping::Id(_) => FieldKind::Auto,
            FieldMapping::Typed { kind, .. } => *kind,
        }
    }
}

/// How an event value is written into a Jira field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Text and numbers as they are; lists and objects as an ADF document (a bullet
    /// list), which is what multi-line text fields take.
    #[default]
    Auto,
    /// A single-line text field: the value as text (lists joined with `, `).
    Text,
    /// A multi-line text field: an ADF document.
    Adf,
    /// A number field.
    Number,
    /// A select list: `{"value": "<text>"}`.
    Option,
    /// A labels field: a list of strings without spaces.
    Labels,
}

pub(super) fn id_or_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IdOrName {
        Number(u64),
        Text(String),
    }
    Ok(Option::<IdOrName>::deserialize(d)?.map(|v| match v {
        IdOrName::Number(n) => n.to_string(),
        IdOrName::Text(s) => s,
    }))
}
