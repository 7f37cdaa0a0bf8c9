//! Rebuild when a migration is added or changed: `sqlx::migrate!` builds them into the binary.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
