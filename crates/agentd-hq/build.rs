//! Compiles `proto/agentd/hq/v1/hq.proto` with protox (pure Rust: no
//! system `protoc`) into tonic server code; its `agentd.v1` messages are
//! the daemon's generated types (`agentd_daemon::grpc::pb`), not copies.

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let root = std::path::Path::new(&manifest).join("../../proto");
    let file = root.join("agentd/hq/v1/hq.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("agentd/v1/agentd.proto").display()
    );
    let fds = match protox::compile([&file], [&root]) {
        Ok(f) => f,
        Err(e) => panic!("{}: {e}", file.display()),
    };
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    if let Err(e) = std::fs::write(
        out.join("hq_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    ) {
        panic!("writing the descriptor set: {e}");
    }
    if let Err(e) = tonic_prost_build::configure()
        .build_client(false)
        .extern_path(".agentd.v1", "::agentd_daemon::grpc::pb")
        .compile_fds(fds)
    {
        panic!("generating the gRPC code: {e}");
    }
}
