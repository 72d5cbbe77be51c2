//! Prometheus rules for the embedded store: this crate owns rule files (parsing and checking
//! recording and alerting rules, templates of labels and annotations), their evaluation on
//! each group's interval against [`pharos_query::LocalMetrics`] (recording results and the
//! `ALERTS`/`ALERTS_FOR_STATE` series go back into the store), the alerting state machine
//! (`for`, `keep_firing_for`, resolved alerts kept 15 minutes), the views served as
//! `/api/v1/rules` and `/api/v1/alerts`, and sending alerts to Alertmanagers (API v2).
//!
//! It knows no HTTP server: the server crate maps these types to routes. Its one outgoing
//! HTTP client talks to the configured Alertmanagers.

mod alert;
mod error;
mod file;
mod format;
mod manager;
mod notifier;
mod template;
mod view;

pub use alert::{Alert, AlertSet, AlertState, KEEP_RESOLVED, LabelMap, Step};
pub use error::{LoadError, TemplateError};
pub use file::{Rule, RuleGroup, RuleKind, load_files, parse_rule_file};
pub use manager::{AlertSink, GroupState, Health, RuleManager, RuleState, RulesConfig, now_ms};
pub use notifier::{Notifier, PostableAlert, alerts_url};
pub use template::{Context, Template};
pub use view::{AlertView, AlertsData, GroupView, RuleTypeFilter, RulesData, Visible};
