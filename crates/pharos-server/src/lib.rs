//! The HTTP server: Perses resource API, datasource proxy with tenant enforcement,
//! self-monitoring and OpenAPI. Handlers are thin; services do the work.
