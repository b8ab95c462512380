//! Compiles the v1 contracts with a pure-Rust protobuf compiler (no system `protoc`), generates the
//! prost messages and tonic clients/servers, and writes one encoded file descriptor set per package
//! (the package's files and everything they import) for gRPC server reflection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let tingjian = root.join("tingjian");
    println!("cargo:rerun-if-changed={}", tingjian.display());

    // Group the .proto files by package directory (tingjian/<service>/v1).
    let mut packages: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    collect(&root, &tingjian, &mut packages)?;
    if packages.is_empty() {
        return Err("no .proto files found under proto/tingjian".into());
    }

    let all_files: Vec<PathBuf> = packages.values().flatten().cloned().collect();
    let full = protox::Compiler::new([&root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(&all_files)?
        .file_descriptor_set();

    for (package, files) in &packages {
        let set = protox::Compiler::new([&root])?.include_imports(true).open_files(files)?.file_descriptor_set();
        let bytes = prost::Message::encode_to_vec(&set);
        std::fs::write(out_dir.join(format!("{package}.bin")), bytes)?;
    }

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Methods a later release implements answer UNIMPLEMENTED instead of failing to compile.
        .generate_default_stubs(true)
        .compile_fds(full)?;
    Ok(())
}

fn collect(root: &Path, dir: &Path, packages: &mut BTreeMap<String, Vec<PathBuf>>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, packages)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            let rel = path.strip_prefix(root).expect("under root");
            let package = rel
                .parent()
                .expect("in a package directory")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(".");
            packages.entry(package).or_default().push(rel.to_path_buf());
        }
    }
    Ok(())
}
