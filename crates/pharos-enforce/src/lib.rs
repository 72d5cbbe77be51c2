//! Tenant label enforcement for PromQL: rewrites every selector of a parsed query so it
//! carries the tenant matcher, with prom-label-proxy semantics for conflicting matchers.
