//! torn serving the "fortunes" page of `bench/pages.sh` from a SQLite database: a handler type,
//! the `Db` extractor, a `Page`, with every default layer on.
//!
//!     fortunes-torn PORT DATABASE_URL

use torn::db::Db;
use torn::{App, Page, Settings};

struct Fortunes;

impl Fortunes {
    async fn get(db: Db) -> torn::Result<Page<torn_bench::fortunes::FortunesPage>> {
        let Db::Sqlite(pool) = &db else {
            return Err(torn::Error::internal("the fortunes are in SQLite"));
        };
        let page = torn_bench::fortunes::page(pool)
            .await
            .map_err(torn::Error::internal)?;
        Ok(Page(page))
    }
}

torn::handler!(Fortunes => get);

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(2)
        .expect("usage: fortunes-torn PORT DATABASE_URL");
    let db = Db::connect(&url).await.expect("the database");
    if let Db::Sqlite(pool) = &db {
        torn_bench::fortunes::prepare(pool)
            .await
            .expect("the table");
    }
    let mut settings = Settings::for_test(std::env::temp_dir());
    settings.server.port = torn_bench::port_arg();
    let app = App::new(settings)
        .database(db)
        .handler::<Fortunes>("fortunes", "/fortunes");
    app.serve().await.expect("serve");
}
