//! Element-wise math functions: `abs`, `ceil`, trigonometry, `clamp*`, `round`, ...

use promql_parser::parser::Expr;

use super::super::evaluator::Evaluator;
use super::super::types::Matrix;
use crate::error::EvalError;

/// How an element-wise function transforms a value.
#[derive(Clone, Copy)]
pub(super) enum Elementwise {
    Unary(fn(f64) -> f64),
    Clamp,
    ClampMin,
    ClampMax,
    Round,
}

pub(super) fn elementwise(name: &str) -> Option<Elementwise> {
    use Elementwise::Unary;
    Some(match name {
        "abs" => Unary(f64::abs),
        "ceil" => Unary(f64::ceil),
        "floor" => Unary(f64::floor),
        "exp" => Unary(f64::exp),
        "sqrt" => Unary(f64::sqrt),
        "ln" => Unary(f64::ln),
        "log2" => Unary(f64::log2),
        "log10" => Unary(f64::log10),
        "sin" => Unary(f64::sin),
        "cos" => Unary(f64::cos),
        "tan" => Unary(f64::tan),
        "asin" => Unary(f64::asin),
        "acos" => Unary(f64::acos),
        "atan" => Unary(f64::atan),
        "sinh" => Unary(f64::sinh),
        "cosh" => Unary(f64::cosh),
        "tanh" => Unary(f64::tanh),
        "asinh" => Unary(f64::asinh),
        "acosh" => Unary(f64::acosh),
        "atanh" => Unary(f64::atanh),
        "rad" => Unary(|v| v * std::f64::consts::PI / 180.0),
        "deg" => Unary(|v| v * 180.0 / std::f64::consts::PI),
        "sgn" => Unary(sgn),
        "clamp" => Elementwise::Clamp,
        "clamp_min" => Elementwise::ClampMin,
        "clamp_max" => Elementwise::ClampMax,
        "round" => Elementwise::Round,
        _ => return None,
    })
}

fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// Go's `math.Max`: NaN wins, and +0 beats -0.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { b } else { a }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, and -0 beats +0.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else if a < b {
        a
    } else {
        b
    }
}

impl Evaluator<'_> {
    /// Applies an element-wise function; extra scalar arguments (clamp bounds,
    /// rounding) may differ per step. Every result drops the metric name.
    pub(super) fn eval_elementwise(
        &mut self,
        f: Elementwise,
        args: &[&Expr],
    ) -> Result<Matrix, EvalError> {
        let mut scalars = Vec::new();
        for a in &args[1..] {
            scalars.push(self.eval_scalar_steps(a)?);
        }
        let mut m = self.eval_matrix(args[0])?;
        for s in &mut m {
            s.drop_name = true;
            s.points.retain_mut(|p| {
                let i = self.step_index(p.t);
                let arg = |n: usize| {
                    scalars
                        .get(n)
                        .and_then(|v| v.get(i))
                        .copied()
                        .unwrap_or(f64::NAN)
                };
                match f {
                    Elementwise::Unary(g) => p.f = g(p.f),
                    Elementwise::Clamp => {
                        let (lo, hi) = (arg(0), arg(1));
                        if hi < lo {
                            return false;
                        }
                        p.f = go_max(lo, go_min(hi, p.f));
                    }
                    Elementwise::ClampMin => p.f = go_max(arg(0), go_min(f64::INFINITY, p.f)),
                    Elementwise::ClampMax => p.f = go_max(f64::NEG_INFINITY, go_min(arg(0), p.f)),
                    Elementwise::Round => {
                        let to_nearest = if scalars.is_empty() { 1.0 } else { arg(0) };
                        // Multiplying by the inverse causes fewer float surprises.
                        let inv = 1.0 / to_nearest;
                        p.f = (p.f * inv + 0.5).floor() / inv;
                    }
                }
                true
            });
        }
        m.retain(|s| !s.points.is_empty());
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_min_max_propagate_nan_and_order_zeros() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert_eq!(go_max(1.0, 2.0), 2.0);
    }

    #[test]
    fn sgn_keeps_zero_and_nan() {
        assert_eq!(sgn(-3.0), -1.0);
        assert_eq!(sgn(0.0), 0.0);
        assert!(sgn(f64::NAN).is_nan());
    }
}
