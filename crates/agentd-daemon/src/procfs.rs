//! `/proc/<pid>/stat`, read and parsed in one place for every reader: the
//! process monitor, discovery, the reaper and the agent-pid lookup.

use std::path::Path;

/// Largest `/proc` file read, bytes.
pub const MAX_PROC_BYTES: u64 = 4096;

/// One process as `/proc/<pid>/stat` says.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcStat {
    /// Its name (`comm`).
    pub comm: String,
    /// Its state letter (`R`, `S`, `Z` for a zombie, …).
    pub state: char,
    /// Its parent's pid.
    pub ppid: u32,
    /// User + system CPU time, clock ticks.
    pub ticks: u64,
    /// When it started, clock ticks after boot.
    pub start_ticks: u64,
    /// Resident set, pages.
    pub rss_pages: u64,
}

impl ProcStat {
    /// Whether it has exited and waits for its parent to reap it (a zombie,
    /// or dead): it runs nothing and costs nothing.
    pub fn exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Parses `/proc/<pid>/stat` (the comm may hold spaces and parentheses).
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    // Fields after the comm, from field 3 (state): ppid is field 4, utime
    // 14, stime 15, starttime 22, rss 24.
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat {
        comm,
        state: rest.first()?.chars().next()?,
        ppid: u32::try_from(field(4)?).ok()?,
        ticks: field(14)?.saturating_add(field(15)?),
        start_ticks: field(22)?,
        rss_pages: field(24)?,
    })
}

/// `<proc>/<pid>/stat`, parsed (bounded, regular file only). Blocking.
pub fn read_stat(proc: &Path, pid: u32) -> Option<ProcStat> {
    agentd_fs::read_to_string(&proc.join(pid.to_string()).join("stat"), MAX_PROC_BYTES)
        .ok()
        .as_deref()
        .and_then(parse_stat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_with_odd_names() {
        let line = "4242 (we ird) (x)) R 7 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0 100 123456 789 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.comm, "we ird) (x)");
        assert_eq!((s.state, s.ppid), ('R', 7));
        assert_eq!((s.ticks, s.start_ticks, s.rss_pages), (200, 100, 789));
        assert!(!s.exited());
        assert!(parse_stat(&line.replace(" R ", " Z ")).unwrap().exited());
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) R 1 2"), None);
    }
}
