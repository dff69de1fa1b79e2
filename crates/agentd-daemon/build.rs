//! Compiles `proto/agentd/v1/*.proto` with protox (pure Rust: no system
//! `protoc`) into tonic server and client code (the client serves benchmarks and, later, HQ links), and writes the descriptor set for
//! server reflection; embeds the web UI (`web/`).

fn main() {
    // Read at run time, not compiled in: a build script binary reused from
    // another checkout must still find this one's protos.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let root = std::path::Path::new(&manifest).join("../../proto");
    let file = root.join("agentd/v1/agentd.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let fds = match protox::compile([&file], [&root]) {
        Ok(f) => f,
        Err(e) => panic!("{}: {e}", file.display()),
    };
    // The web UI, embedded (and compressed) in every build, debug too: the
    // tests drive the same bytes users get.
    memory_serve::load_directory_with_embed(std::path::Path::new(&manifest).join("web"), true);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    if let Err(e) = std::fs::write(
        out.join("agentd_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    ) {
        panic!("writing the descriptor set: {e}");
    }
    if let Err(e) = tonic_prost_build::configure()
        .build_client(true)
        .compile_fds(fds)
    {
        panic!("generating the gRPC code: {e}");
    }
}
