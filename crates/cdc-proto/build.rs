//! Compiles `proto/` with the protoc binary vendored by `protoc-bin-vendored`, so no
//! system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time: `env!` would bake in the path of the first checkout that compiled
    // this script, and cargo reuses the compiled script across checkouts.
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("cdc/checkpoint/v1/checkpoint.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    config.compile_protos(&[file], &[root])?;
    Ok(())
}
