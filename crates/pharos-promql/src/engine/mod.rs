//! Query entry points: parsing, limits, evaluation and conversion to [`QueryResult`].

mod aggregations;
mod binary;
mod evaluator;
mod functions;
mod numeric;
mod selectors;
mod subquery;
mod types;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pharos_promql_syntax::{SyntaxError, SyntaxLimits};
use promql_parser::parser::{Expr, value::ValueType};

use crate::error::EvalError;
use crate::position::Positions;
use crate::storage::SeriesSource;
use crate::value::{InstantSample, QueryResult, QueryValue, RangeSeries};

use evaluator::{Evaluator, Limits};
use types::{Value, cleanup_metric_names};

/// Queries nested deeper than this are evaluated on their own thread (see `Engine::run`).
const DEEP_QUERY_DEPTH: usize = 32;

/// Stack of that thread: over ten times what the deepest accepted query needs in a debug
/// build. Only the pages touched are ever committed.
const DEEP_QUERY_STACK: usize = 16 * 1024 * 1024;

/// Engine configuration.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for the latest sample (Prometheus: 5m).
    pub lookback_delta: Duration,
    /// Maximum wall-clock time of one query; `None` means no limit.
    pub timeout: Option<Duration>,
    /// Maximum number of samples held in memory at once by one query.
    pub max_samples: usize,
    /// Maximum number of series one query may load from storage.
    pub max_series: usize,
    /// Resolution of subqueries written without a step (`x[1h:]`).
    pub default_subquery_step: Duration,
    /// Maximum number of points per series in a range query.
    pub max_points_per_series: i64,
    /// Longest query text accepted, in bytes.
    pub max_query_length: usize,
    /// Most inner evaluation steps all subqueries of one query may take together (a subquery
    /// `x[range:step]` takes about `range / step` steps per outer step range).
    pub max_subquery_steps: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            timeout: Some(Duration::from_secs(120)),
            max_samples: 50_000_000,
            max_series: 1_000_000,
            default_subquery_step: Duration::from_secs(60),
            max_points_per_series: 11_000,
            max_query_length: pharos_promql_syntax::DEFAULT_MAX_LENGTH,
            max_subquery_steps: 1_000_000,
        }
    }
}

/// A handle to cancel a running query from another thread.
#[derive(Debug, Clone, Default)]
pub struct QueryControl {
    canceled: Arc<AtomicBool>,
}

impl QueryControl {
    /// A fresh, not-cancelled handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation; the query stops at its next check with [`EvalError::Canceled`].
    pub fn cancel(&self) {
        self.canceled.store(true, Ordering::Relaxed);
    }

    /// Whether cancellation was requested.
    pub fn is_canceled(&self) -> bool {
        self.canceled.load(Ordering::Relaxed)
    }
}

/// The PromQL engine. Stateless apart from its options; share it freely.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with the given options.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at one instant `t_ms` (Prometheus `/api/v1/query`).
    pub fn instant(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        t_ms: i64,
    ) -> Result<QueryResult, EvalError> {
        self.instant_with(src, query, t_ms, &QueryControl::new())
    }

    /// Like [`Engine::instant`], cancellable through `control`.
    pub fn instant_with(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        t_ms: i64,
        control: &QueryControl,
    ) -> Result<QueryResult, EvalError> {
        let expr = self.parse(query)?;
        let positions = Positions::compute(query, &expr);
        self.run(src, &Query::instant(&expr, &positions, t_ms), control)
    }

    /// Evaluates `query` from `start_ms` to `end_ms` every `step_ms`
    /// (Prometheus `/api/v1/query_range`).
    pub fn range(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult, EvalError> {
        self.range_with(src, query, start_ms, end_ms, step_ms, &QueryControl::new())
    }

    /// Like [`Engine::range`], cancellable through `control`.
    pub fn range_with(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        control: &QueryControl,
    ) -> Result<QueryResult, EvalError> {
        let expr = self.parse(query)?;
        let positions = Positions::compute(query, &expr);
        let q = Query::range(&expr, &positions, start_ms, end_ms, step_ms);
        self.check_range(&q)?;
        self.run(src, &q, control)
    }

    /// Evaluates an already parsed expression at one instant. Annotations carry no
    /// source positions because there is no query text. ASTs deeper than the nesting limit
    /// are refused, as parsed text would be.
    pub fn instant_ast(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        t_ms: i64,
    ) -> Result<QueryResult, EvalError> {
        pharos_promql_syntax::check_depth(expr).map_err(EvalError::Syntax)?;
        let positions = Positions::none();
        self.run(
            src,
            &Query::instant(expr, &positions, t_ms),
            &QueryControl::new(),
        )
    }

    /// Evaluates an already parsed expression over a time range (nesting limit as for
    /// [`Engine::instant_ast`]).
    pub fn range_ast(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult, EvalError> {
        pharos_promql_syntax::check_depth(expr).map_err(EvalError::Syntax)?;
        let positions = Positions::none();
        let q = Query::range(expr, &positions, start_ms, end_ms, step_ms);
        self.check_range(&q)?;
        self.run(src, &q, &QueryControl::new())
    }

    /// Parses untrusted text within the syntax budget; plain syntax errors keep the parser's
    /// message (clients and the conformance suite match on it).
    fn parse(&self, query: &str) -> Result<Expr, EvalError> {
        let limits = SyntaxLimits {
            max_length: self.opts.max_query_length,
        };
        pharos_promql_syntax::parse(query, &limits).map_err(|error| match error {
            SyntaxError::Parse(message) => EvalError::Parse(message),
            limit => EvalError::Syntax(limit),
        })
    }

    /// Validates range-query parameters the way the Prometheus API does.
    fn check_range(&self, q: &Query<'_>) -> Result<(), EvalError> {
        if q.step <= 0 {
            return Err(EvalError::InvalidQuery(
                "zero or negative query resolution step widths are not accepted; use a positive step".into(),
            ));
        }
        if q.end < q.start {
            return Err(EvalError::InvalidQuery(
                "end timestamp must not be before start time".into(),
            ));
        }
        if (q.end - q.start) / q.step >= self.opts.max_points_per_series {
            return Err(EvalError::InvalidQuery(format!(
                "exceeded maximum resolution of {} points per timeseries; try decreasing the query resolution (?step=XX)",
                self.opts.max_points_per_series
            )));
        }
        match q.expr.value_type() {
            ValueType::Vector | ValueType::Scalar => Ok(()),
            other => Err(EvalError::InvalidQuery(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                documented_type(other)
            ))),
        }
    }

    /// Evaluates `q`; deeply nested queries on a thread of their own with a large stack.
    ///
    /// The evaluator recurses once per AST level, and a debug build needs about 6 KiB per level
    /// of nested function calls: the deepest accepted query (256 levels) fits a 2 MiB worker
    /// stack, but without much to spare. A separate thread costs tens of microseconds, so only
    /// queries nested deeper than any everyday one pay it.
    fn run(
        &self,
        src: &dyn SeriesSource,
        q: &Query<'_>,
        control: &QueryControl,
    ) -> Result<QueryResult, EvalError> {
        if pharos_promql_syntax::nesting_depth(q.expr) <= DEEP_QUERY_DEPTH {
            return self.run_here(src, q, control);
        }
        std::thread::scope(|scope| {
            let spawned = std::thread::Builder::new()
                .name("pharos-deep-query".into())
                .stack_size(DEEP_QUERY_STACK)
                .spawn_scoped(scope, || self.run_here(src, q, control));
            match spawned {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // Out of threads: the current stack still holds an accepted query.
                Err(_) => self.run_here(src, q, control),
            }
        })
    }

    fn run_here(
        &self,
        src: &dyn SeriesSource,
        q: &Query<'_>,
        control: &QueryControl,
    ) -> Result<QueryResult, EvalError> {
        let (expr, start, end, step) = (q.expr, q.start, q.end, q.step);
        let limits = Limits {
            deadline: self.opts.timeout.map(|d| Instant::now() + d),
            control,
            max_samples: self.opts.max_samples,
            max_series: self.opts.max_series,
            max_subquery_steps: self.opts.max_subquery_steps,
        };
        let instant = step == 0;
        let mut ev = Evaluator::new(
            src,
            &self.opts,
            limits,
            q.positions,
            start,
            end,
            step.max(1),
        );
        let value = ev.eval(expr)?;
        let annotations = ev.into_annotations();
        let value = match value {
            Value::String(s) => QueryValue::String {
                t_ms: start,
                value: s,
            },
            Value::Matrix(m) => {
                let m = cleanup_metric_names(m)?;
                match (instant, expr.value_type()) {
                    (true, ValueType::Vector) => QueryValue::Vector(
                        m.into_iter()
                            .filter_map(|s| {
                                s.points.first().map(|p| InstantSample {
                                    metric: s.metric,
                                    t_ms: start,
                                    value: p.f,
                                })
                            })
                            .collect(),
                    ),
                    (true, ValueType::Scalar) => QueryValue::Scalar {
                        t_ms: start,
                        value: m
                            .first()
                            .and_then(|s| s.points.first())
                            .map_or(f64::NAN, |p| p.f),
                    },
                    _ => {
                        let mut series: Vec<RangeSeries> = m
                            .into_iter()
                            .filter(|s| !s.points.is_empty())
                            .map(|s| RangeSeries {
                                metric: s.metric,
                                // Same layout: the buffer is reused, not copied.
                                points: s.points.into_iter().map(|p| (p.t, p.f)).collect(),
                            })
                            .collect();
                        series.sort_by(|a, b| a.metric.cmp(&b.metric));
                        QueryValue::Matrix(series)
                    }
                }
            }
        };
        Ok(QueryResult { value, annotations })
    }
}

/// What to evaluate and when; `step == 0` marks an instant query.
struct Query<'q> {
    expr: &'q Expr,
    positions: &'q Positions,
    start: i64,
    end: i64,
    step: i64,
}

impl<'q> Query<'q> {
    fn instant(expr: &'q Expr, positions: &'q Positions, t: i64) -> Self {
        Query {
            expr,
            positions,
            start: t,
            end: t,
            step: 0,
        }
    }

    fn range(expr: &'q Expr, positions: &'q Positions, start: i64, end: i64, step: i64) -> Self {
        Query {
            expr,
            positions,
            start,
            end,
            step,
        }
    }
}

/// The type names Prometheus uses in user-facing errors.
pub(crate) fn documented_type(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}
