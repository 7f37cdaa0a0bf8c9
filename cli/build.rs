//! Rebuild the CLI when a template changes: they are built into the binary.

fn main() {
    println!("cargo::rerun-if-changed=../templates");
}
