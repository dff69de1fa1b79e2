//! Any bytes as a spool record or a legacy spool line: parsed or refused,
//! never a panic; a parsed record round-trips.
#![no_main]

use agentd_client::spool;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(r) = spool::parse_line(data) {
        let again = serde_json::to_vec(&r).expect("serialize");
        assert_eq!(spool::parse_line(&again), Some(r));
    }
});
