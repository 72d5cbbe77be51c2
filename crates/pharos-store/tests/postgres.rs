//! The engine suite against PostgreSQL. Skipped unless `PHAROS_TEST_DATABASE_URL` is set
//! (and then fails if `PHAROS_REQUIRE_POSTGRES=1`); see `pharos_store::testing`.

#[cfg(test)] // marks the shared suite as test code (clippy: unwrap allowed in tests)
mod suite;

use pharos_store::StoreOptions;
use pharos_store::testing::postgres_store_with;
use suite::Fixture;

async fn open(options: StoreOptions) -> Option<Fixture> {
    let store = postgres_store_with(options).await?;
    Some(Fixture { store, _keep: None })
}

engine_tests!(open);
