//! Any bytes as a JSON-RPC frame: parse or a well-formed error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match agentd_proto::Request::parse(data) {
        Ok(req) => assert_eq!(req.jsonrpc, "2.0"),
        Err(resp) => assert!(resp.error.is_some()),
    }
    let _ = agentd_client::spool::parse_line(data);
});
