//! Grafana → Perses dashboard migration: converts a Grafana dashboard's JSON model into a Perses
//! `Dashboard` resource and reports every element that could not be carried over.
