//! The config store: persistence of Perses-style resources in SQLite or PostgreSQL via sqlx,
//! with migrations, version history, trash and encryption of secrets at rest.
