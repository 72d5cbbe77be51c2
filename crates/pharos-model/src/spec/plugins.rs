//! The plugin kinds a stock Perses server ships (the default plugin set of 0.54).
//!
//! Perses rejects a plugin kind it has no schema for, so these lists decide which
//! dashboards are accepted.

/// Panel plugin kinds.
pub const PANEL_KINDS: &[&str] = &[
    "TimeSeriesChart",
    "StatChart",
    "GaugeChart",
    "BarChart",
    "Table",
    "Markdown",
    "PieChart",
    "TimeSeriesTable",
    "StatusHistoryChart",
    "HeatMapChart",
    "HistogramChart",
    "ScatterChart",
    "FlameChart",
    "LogsTable",
    "TraceTable",
    "TracingGanttChart",
    "AlertTable",
    "SilenceTable",
];

/// Query types (the `kind` of an entry in `panel.spec.queries`).
pub const QUERY_TYPES: &[&str] = &[
    "TimeSeriesQuery",
    "TraceQuery",
    "ProfileQuery",
    "LogQuery",
    "AlertsQuery",
    "SilencesQuery",
    "Query",
];

/// Query plugin kinds (the `kind` of a query's `spec.plugin`).
pub const QUERY_PLUGIN_KINDS: &[&str] = &[
    "PrometheusTimeSeriesQuery",
    "TempoTraceQuery",
    "JaegerTraceQuery",
    "GreptimeDBTraceQuery",
    "ClickHouseTraceQuery",
    "LokiLogQuery",
    "LokiTimeSeriesQuery",
    "ClickHouseLogQuery",
    "ClickHouseTimeSeriesQuery",
    "SplunkLogQuery",
    "SplunkTimeSeriesQuery",
    "VictoriaLogsLogQuery",
    "VictoriaLogsTimeSeriesQuery",
    "OpenSearchLogQuery",
    "OpenSearchTimeSeriesQuery",
    "GreptimeDBLogQuery",
    "GreptimeDBTimeSeriesQuery",
    "PyroscopeProfileQuery",
    "AlertManagerAlertsQuery",
    "AlertManagerSilencesQuery",
];

/// ListVariable plugin kinds.
pub const VARIABLE_PLUGIN_KINDS: &[&str] = &[
    "StaticListVariable",
    "DatasourceVariable",
    "PrometheusLabelValuesVariable",
    "PrometheusLabelNamesVariable",
    "PrometheusPromQLVariable",
    "LokiLabelValuesVariable",
    "LokiLabelNamesVariable",
    "LokiLogQLVariable",
    "VictoriaLogsFieldValuesVariable",
    "VictoriaLogsFieldNamesVariable",
];

/// Datasource plugin kinds.
pub const DATASOURCE_KINDS: &[&str] = &[
    "PrometheusDatasource",
    "TempoDatasource",
    "JaegerDatasource",
    "LokiDatasource",
    "PyroscopeDatasource",
    "ClickHouseDatasource",
    "GreptimeDBDatasource",
    "OpenSearchDatasource",
    "SplunkDatasource",
    "VictoriaLogsDatasource",
    "AlertManagerDatasource",
];

/// `unknown <what> kind "X" (known: A, B, ...)`.
pub(crate) fn unknown_kind_message(what: &str, kind: &str, known: &[&str]) -> String {
    format!("unknown {what} kind {kind:?} (known: {})", known.join(", "))
}
